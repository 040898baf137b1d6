"""The object encoder E_sigma and the poke encoder E_phi (paper Sec. 3.1, App. E.1)."""
from __future__ import annotations

import torch
from torch import nn

from ipoke_core.config import ModelConfig
from ipoke_core.model.blocks import ConvNormAct, ResBlock


class Encoder(nn.Module):
    """Stride-2 3x3 conv layers down to ``cfg.bottleneck`` pixels (then stride 1), ELU + instance norm,
    and a ResNet block on the last level.

    ``forward(x (B, C_in, R, R)) -> list`` of ``len(cfg.channels)`` feature maps, finest first;
    level i has ``cfg.channels[i]`` channels and ``cfg.level_sizes()[i]`` pixels per side.
    """

    def __init__(self, cfg: ModelConfig, c_in: int, norm: bool = True):
        super().__init__()
        layers, prev = [], c_in
        for i, c in enumerate(cfg.channels):
            layers.append(ConvNormAct(prev, c, stride=2 if i < cfg.n_strided else 1, norm=norm))
            prev = c
        self.layers = nn.ModuleList(layers)
        self.head = ResBlock(prev, prev, norm=norm)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels = []
        for layer in self.layers:
            x = layer(x)
            levels.append(x)
        levels[-1] = self.head(levels[-1])
        return levels


class ObjectEncoder(Encoder):
    """E_sigma: image ``(B, 3, R, R)`` in [-1, 1] -> the hierarchical object state sigma (list, finest first)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, 3, norm=True)


class PokeEncoder(nn.Module):
    """E_phi: rasterised poke ``(B, 2, R, R)`` -> latent interaction phi ``(B, C_last, bottleneck, bottleneck)``.

    No instance norm here: normalising per sample would divide out the poke's magnitude, which is
    exactly what the network must see.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.encoder = Encoder(cfg, 2, norm=False)

    def forward(self, poke_map: torch.Tensor) -> torch.Tensor:
        return self.encoder(poke_map)[-1]
