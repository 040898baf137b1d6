"""Poke affinity: how much each pixel looks like the poked point, a gate on the motion prior.

The warp decoder's motion prior spreads the poke by a Gaussian around its point, and it enters the
motion head linearly, so the head cannot switch it off on the background beside the poked part:
the bundled models move the background 2-10 px from a 2 px poke by 1.2 px (issue 32). A pixel
should follow the prior only where it belongs with the poked point. ``PokeAffinity`` embeds the
source image per pixel (a small conv net over the RGB) and gates the prior by the similarity of
each pixel's embedding to the poked point's: ``gate(p) = exp(-s * |e(p) - e_poke|^2)``, 1 at the
poke and wherever the image looks the same, towards 0 elsewhere. The prior becomes a joint
bilateral spread (space x learned appearance) of the poke, which CMP-style propagation does with a
learned affinity; the network learns which looks belong together from the flow loss alone.

The last layer starts near zero, so every pixel starts with almost the same embedding and the gate
at ~1 (within 1e-3 of the ungated prior): a checkpoint without the module can be fine-tuned into
one (``config.GROWN_FROM_IDENTITY``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PokeAffinity(nn.Module):
    """``forward(source (B, 3, R, R) in [-1, 1], poke_map (B, 2, R, R)) -> gate (B, 1, R, R)`` in (0, 1].

    The poked point's embedding is the mean over the poke map's square, weighted by the poke's
    length there (several pokes in one video share one mean: the gate then favours their average look).
    """

    def __init__(self, width: int = 16, dim: int = 8):
        super().__init__()
        self.embed = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1), nn.ELU(),
            nn.Conv2d(width, width, 3, 1, 2, dilation=2), nn.ELU(),  # a 9 px view: texture, not one colour
            nn.Conv2d(width, dim, 3, 1, 1),
        )
        nn.init.normal_(self.embed[-1].weight, std=1e-3 / self.GAIN)
        nn.init.zeros_(self.embed[-1].bias)
        # s = softplus(raw): how fast the gate falls with distance in embedding space (starts at 1)
        self.sharpness_raw = nn.Parameter(torch.tensor(0.5413))

    # the embedding's last layer is read times GAIN: Adam moves every weight by about the learning rate
    # per step, and at the fine-tuning rate (1e-4) a gate grown from ~1 had not closed anywhere after
    # 400 steps (1st percentile 0.88 on plant_2); the gain is that layer's learning rate x GAIN
    GAIN = 10.0

    def forward(self, source: torch.Tensor, poke_map: torch.Tensor) -> torch.Tensor:
        e = self.embed(source.float()) * self.GAIN  # (B, D, R, R)
        w = poke_map.float().norm(dim=1, keepdim=True)  # (B, 1, R, R), zero off the poke
        e_poke = (e * w).sum((2, 3), keepdim=True) / w.sum((2, 3), keepdim=True).clamp_min(1e-6)
        distance = (e - e_poke).pow(2).sum(1, keepdim=True)
        return torch.exp(-F.softplus(self.sharpness_raw) * distance)
