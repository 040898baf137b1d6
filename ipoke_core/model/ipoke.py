"""The full iPOKE generator: object encoder, poke encoder, dynamics, decoder (paper Fig. 2)."""
from __future__ import annotations

import torch
from torch import nn

from ipoke_core.config import ModelConfig
from ipoke_core.model.decoder import Decoder
from ipoke_core.model.dynamics import build_dynamics
from ipoke_core.model.encoders import ObjectEncoder, PokeEncoder


class IPoke(nn.Module):
    """Image + poke -> video.

    ``forward(image (B, 3, R, R) in [-1, 1], poke_map (B, 2, R, R))`` returns
    ``(video (B, T, 3, R, R) in [-1, 1], states)`` where ``states[t][k]`` is the predicted
    state of encoder level ``dynamic_levels[k]`` for frame t+1 (used by the latent loss, Eq. 7).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.object_encoder = ObjectEncoder(cfg)
        self.poke_encoder = PokeEncoder(cfg)
        self.dynamics = build_dynamics(cfg)
        self.dynamic_levels: list[int] = list(self.dynamics.levels)
        self.decoder = Decoder(cfg, self.dynamic_levels)

    def encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """E_sigma: ``(B, 3, R, R)`` -> all encoder levels, finest first."""
        return self.object_encoder(image)

    def decode(self, levels: list[torch.Tensor | None]) -> torch.Tensor:
        """G: encoder-indexed levels (finest first) -> ``(B, 3, R, R)`` in [-1, 1]."""
        return self.decoder(levels)

    def autoencode(self, image: torch.Tensor) -> torch.Tensor:
        """Stage-1 reconstruction G(E_sigma(x)): ``(B, 3, R, R)`` -> ``(B, 3, R, R)``."""
        return self.decode(self.encode(image))

    def forward(
        self, image: torch.Tensor, poke_map: torch.Tensor, seq_len: int | None = None, last_only: bool = False
    ) -> tuple[torch.Tensor, list[list[torch.Tensor]]]:
        """``last_only``: decode only the final state, ``video (B, 1, 3, R, R)`` (heatmaps need
        nothing else, and decoding is most of the cost of a forward pass)."""
        steps = seq_len or self.cfg.seq_len
        sigma = self.encode(image)
        phi = self.poke_encoder(poke_map)
        states = self.dynamics([sigma[i] for i in self.dynamic_levels], phi, steps)
        n = len(sigma)
        frames = []
        # decode all time steps in one batch: (T*B, C, S, S) per level
        stacked: list[torch.Tensor | None] = [None] * n
        decoded = states[-1:] if last_only else states
        for k, level in enumerate(self.dynamic_levels):
            stacked[level] = torch.cat([s[k] for s in decoded], 0)
        frames = self.decode(stacked)
        b = image.shape[0]
        video = frames.view(len(decoded), b, *frames.shape[1:]).transpose(0, 1)
        return video, states
