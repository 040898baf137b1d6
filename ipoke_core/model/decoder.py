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
import torch.nn.functional as F
from torch import nn

from ipoke_core.config import ModelConfig
from ipoke_core.model.blocks import ResBlock
from ipoke_core.model.object_mask import gate_flow
from ipoke_core.model.parts import project_flow
from ipoke_core.model.warp import shrink_flow, warp, warp_bicubic


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

    ``frame (N, 3, R, R)`` in [-1, 1] (None when only the motion was asked for); ``flow (N, 2, R, R)``
    backward displacement in pixels (``frame(p) ~ source(p + flow(p))``); ``mask (N, 1, R, R)`` in (0, 1),
    the weight of the warped source.
    """

    frame: torch.Tensor | None
    flow: torch.Tensor
    mask: torch.Tensor


class MotionDecoder(Decoder):
    """Motion-first G: the trunk of ``Decoder`` plus a head for flow (2 channels) and mask (1).

    ``forward(levels)`` draws the RGB path alone (stage 1 trains E_sigma and G as a plain
    autoencoder: with the source at hand, warping would reconstruct it without learning anything).
    ``render(levels, source, poke_map, times)`` is the animation path.

    The motion head also reads the poke itself, at full resolution: the rasterised poke map, and a
    *motion prior*, the poke spread by a Gaussian falloff (sigma = ``motion_prior_sigma`` * R, R/8 by
    default) and ramped linearly in time, which at R/8 is the flow-warp baseline's field. The head
    starts as exactly that field (for the foreground; the mask starts at ~0.98 on the warped
    source), so from the first step the poked point follows the poke, and training learns what the
    baseline cannot: which pixels belong to the poked part, how the rest of the object follows,
    what stays still.
    """

    def __init__(self, cfg: ModelConfig, skip_levels: list[int]):
        super().__init__(cfg, skip_levels)
        c = cfg.channels[0]
        self.to_motion = nn.Conv2d(c + 4, 3, 3, 1, 1)
        # flows are a few pixels: one unit of the head is R/16 pixels (4 at 64 px)
        self.flow_unit = cfg.resolution / 16
        self.deadzone = cfg.motion_deadzone_px  # shorter flows are drawn as still (ModelConfig)
        self.still_part = cfg.still_part  # part 0 of the part masks never moves
        self.gate_reach = cfg.gate_reach  # the object mask's flow gate looks this far (ModelConfig)
        # "bilinear" (training: exact for zero flow, cheap gradients) or "bicubic" (sharper; inference)
        self.resample = "bilinear"
        sigma = cfg.motion_prior_sigma * cfg.resolution
        radius = max(1, int(3 * sigma))
        taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
        # peak 1 along each axis; dividing by the square's area gives the poke's value at its centre
        self.register_buffer("prior_kernel", torch.exp(-taps**2 / (2 * sigma**2)), persistent=False)
        self.prior_area = float((2 * cfg.poke_radius + 1) ** 2)
        # the poke map holds displacement * poke_gain / poke_scale; flow = -displacement (backward)
        prior_weight = -cfg.poke_scale / (cfg.poke_gain * self.flow_unit)
        nn.init.normal_(self.to_motion.weight, std=1e-3)
        nn.init.zeros_(self.to_motion.bias)
        with torch.no_grad():
            self.to_motion.weight[0, c + 2, 1, 1] = prior_weight  # flow x <- prior x
            self.to_motion.weight[1, c + 3, 1, 1] = prior_weight  # flow y <- prior y
            self.to_motion.bias[2] = 4.0

    def motion_prior(self, poke_map: torch.Tensor) -> torch.Tensor:
        """The poke spread by a Gaussian falloff: ``(N, 2, R, R) -> (N, 2, R, R)``, the poke's value at its
        centre (separable blur with a peak-1 kernel, divided by the poke square's area)."""
        k = self.prior_kernel.to(poke_map.dtype)
        n = k.numel()
        x = poke_map.contiguous().reshape(-1, 1, *poke_map.shape[-2:])
        x = F.conv2d(x, k.view(1, 1, 1, n), padding=(0, n // 2))
        x = F.conv2d(x, k.view(1, 1, n, 1), padding=(n // 2, 0))
        return x.reshape(poke_map.shape) / self.prior_area

    def render(self, levels: list[torch.Tensor | None], source: torch.Tensor, poke_map: torch.Tensor,
               times: torch.Tensor, prior: torch.Tensor, parts: torch.Tensor | None = None,
               movable: torch.Tensor | None = None, draw: bool = True) -> Rendered:
        """``source (N, 3, R, R)`` in [-1, 1], the (gained) ``poke_map (N, 2, R, R)``, ``times (N,)``, the
        fraction t/T of the sequence each frame is at, and ``prior = motion_prior(poke_map)`` (the caller
        blurs once per video, not per frame), one per frame to draw -> ``Rendered`` of N frames. With
        ``parts (N, K, R, R)``, the source's part masks, each part moves by one affine motion
        (``model.parts.project_flow``) instead of the head's dense flow. With ``movable (N, 1, R, R)``, the
        source's object mask, the flow is gated by it (``model.object_mask.gate_flow``). ``draw=False``
        computes the motion alone (``frame`` None): what heatmaps read."""
        feats = self.features(levels)
        extra = torch.cat([poke_map.float(), prior * times.float().view(-1, 1, 1, 1)], 1).to(feats.dtype)
        if feats.is_contiguous(memory_format=torch.channels_last):  # one layout for the cat: no copies
            extra = extra.contiguous(memory_format=torch.channels_last)
        motion = self.to_motion(torch.cat([feats, extra], 1)).float()
        flow = motion[:, :2] * self.flow_unit
        if parts is not None:
            flow = project_flow(flow, parts, self.still_part)
        if movable is not None:
            flow = gate_flow(flow, movable, self.gate_reach)
        flow = shrink_flow(flow, self.deadzone)
        mask = torch.sigmoid(motion[:, 2:3])
        if not draw:
            return Rendered(None, flow, mask)
        rgb = torch.tanh(self.to_rgb(feats).float())  # fp32 first: PyTorch's bf16 tanh is 3-5x slower on the CPU
        warped = warp_bicubic(source, flow) if self.resample == "bicubic" else warp(source, flow)
        frame = (mask * warped + (1 - mask) * rgb).clamp(-1, 1)
        return Rendered(frame, flow, mask)
