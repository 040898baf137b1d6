"""The decoder G: a hierarchy of object states -> one image frame (UNet-style, paper Sec. 3.1)."""
from __future__ import annotations

import torch
from torch import nn

from ipoke_core.config import ModelConfig
from ipoke_core.model.blocks import ResBlock


class Decoder(nn.Module):
    """ResNet blocks with transposed-conv upsampling; the state of every level in ``skip_levels``
    enters at its own scale (concatenated, then fused by a 1x1 conv).

    ``forward(levels)``: ``levels`` is a list indexed like the encoder output (finest first);
    only the bottleneck and ``skip_levels`` entries are read, the others may be None.
    Returns ``(B, 3, R, R)`` in [-1, 1].
    """

    def __init__(self, cfg: ModelConfig, skip_levels: list[int]):
        super().__init__()
        ch = cfg.channels
        n = len(ch)
        self.n_levels = n
        self.skip_levels = sorted(set(skip_levels) - {n - 1})
        self.fuse = nn.ModuleDict({str(i): nn.Conv2d(2 * ch[i], ch[i], 1) for i in self.skip_levels})
        # block i maps level i to level i-1 (or to the output size for i = 0)
        self.blocks = nn.ModuleList(
            [ResBlock(ch[i], ch[max(i - 1, 0)], up=2 if i < cfg.n_strided else 1) for i in range(n)]
        )
        self.to_rgb = nn.Conv2d(ch[0], 3, 3, 1, 1)

    def forward(self, levels: list[torch.Tensor | None]) -> torch.Tensor:
        x = levels[self.n_levels - 1]
        for i in range(self.n_levels - 1, -1, -1):
            if str(i) in self.fuse:
                x = self.fuse[str(i)](torch.cat([x, levels[i]], 1))
            x = self.blocks[i](x)
        return torch.tanh(self.to_rgb(x))
