"""The decoder G: a hierarchy of object states -> one image frame (UNet-style, paper Sec. 3.1).

``Decoder`` is the paper's G: it draws every pixel of every frame. ``MotionDecoder`` is our
motion-first G (DESIGN.md, "motion first"): the same trunk draws, per frame, a backward
displacement field, a blend mask and an RGB residual, and the frame is rendered by warping the
source, ``frame = m * warp(source, flow) + (1 - m) * rgb``. Pixels that only move stay as sharp as
the source; the residual paints what warping cannot (disocclusions, shading).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ipoke_core.config import ModelConfig
from ipoke_core.model.blocks import ResBlock
from ipoke_core.model.warp import warp


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

    def features(self, levels: list[torch.Tensor | None]) -> torch.Tensor:
        """The trunk: levels -> ``(B, channels[0], R, R)`` features at the output size."""
        x = levels[self.n_levels - 1]
        for i in range(self.n_levels - 1, -1, -1):
            if str(i) in self.fuse:
                x = self.fuse[str(i)](torch.cat([x, levels[i]], 1))
            x = self.blocks[i](x)
        return x

    def forward(self, levels: list[torch.Tensor | None]) -> torch.Tensor:
        return torch.tanh(self.to_rgb(self.features(levels)))


@dataclass
class Rendered:
    """What ``MotionDecoder.render`` draws for N frames.

    ``frame (N, 3, R, R)`` in [-1, 1]; ``flow (N, 2, R, R)`` backward displacement in pixels
    (``frame(p) ~ source(p + flow(p))``); ``mask (N, 1, R, R)`` in (0, 1), the weight of the warped source.
    """

    frame: torch.Tensor
    flow: torch.Tensor
    mask: torch.Tensor


class MotionDecoder(Decoder):
    """Motion-first G: the trunk of ``Decoder`` plus a head for flow (2 channels) and mask (1).

    ``forward(levels)`` draws the RGB path alone (stage 1 trains E_sigma and G as a plain
    autoencoder: with the source at hand, warping would reconstruct it without learning anything).
    ``render(levels, source, poke_map)`` is the animation path. The motion head also reads the
    rasterised poke at full resolution: "the poked pixels move with the poke" is then one conv
    away, and the hierarchy only has to learn how the rest of the object follows.
    """

    def __init__(self, cfg: ModelConfig, skip_levels: list[int]):
        super().__init__(cfg, skip_levels)
        self.to_motion = nn.Conv2d(cfg.channels[0] + 2, 3, 3, 1, 1)
        # flows are a few pixels: one unit of the head is R/16 pixels (4 at 64 px)
        self.flow_unit = cfg.resolution / 16
        # start as the still image: zero flow, mask ~0.98 on the warped source
        nn.init.normal_(self.to_motion.weight, std=1e-3)
        nn.init.zeros_(self.to_motion.bias)
        with torch.no_grad():
            self.to_motion.bias[2] = 4.0

    def render(self, levels: list[torch.Tensor | None], source: torch.Tensor, poke_map: torch.Tensor) -> Rendered:
        """``source (N, 3, R, R)`` in [-1, 1] and the (gained) ``poke_map (N, 2, R, R)``, one per frame
        to draw -> ``Rendered`` of N frames."""
        feats = self.features(levels)
        rgb = torch.tanh(self.to_rgb(feats)).float()
        motion = self.to_motion(torch.cat([feats, poke_map.to(feats.dtype)], 1)).float()
        flow = motion[:, :2] * self.flow_unit
        mask = torch.sigmoid(motion[:, 2:3])
        frame = mask * warp(source, flow) + (1 - mask) * rgb
        return Rendered(frame, flow, mask)
