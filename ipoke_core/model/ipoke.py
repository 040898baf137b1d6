"""The full iPOKE generator: object encoder, poke encoder, dynamics, decoder (paper Fig. 2)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ipoke_core.config import ModelConfig
from ipoke_core.model.decoder import Decoder, MotionDecoder
from ipoke_core.model.dynamics import build_dynamics
from ipoke_core.model.encoders import ObjectEncoder, PokeEncoder
from ipoke_core.model.object_mask import ObjectMask, poke_where_movable
from ipoke_core.model.parts import PartMasks


@dataclass
class Animation:
    """One forward pass: ``video (B, T, 3, R, R)`` in [-1, 1]; ``states[t][k]`` the predicted state of
    encoder level ``dynamic_levels[k]`` for frame t+1; with the motion-first decoder also
    ``flow (B, T, 2, R, R)``, backward displacement in model pixels (``frame_t(p) ~ source(p + flow_t(p))``),
    and ``mask (B, T, 1, R, R)``, the weight of the warped source (None for the pixel decoder); with
    ``model.part_masks`` also ``parts (B, K, R, R)``, the source's soft part masks (summing to 1 over K);
    with ``model.object_mask`` also ``movable (B, 1, R, R)`` in (0, 1), the source's object mask."""

    video: torch.Tensor | None  # None when only the motion was asked for (``motion_only``)
    states: list[list[torch.Tensor]]
    flow: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    parts: torch.Tensor | None = None
    movable: torch.Tensor | None = None


class IPoke(nn.Module):
    """Image + poke -> video.

    ``forward(image (B, 3, R, R) in [-1, 1], poke_map (B, 2, R, R))`` returns
    ``(video (B, T, 3, R, R) in [-1, 1], states)`` where ``states[t][k]`` is the predicted
    state of encoder level ``dynamic_levels[k]`` for frame t+1 (used by the latent loss, Eq. 7).
    ``animate`` returns the same plus the predicted motion (``Animation``).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.object_encoder = ObjectEncoder(cfg)
        self.poke_encoder = PokeEncoder(cfg)
        self.dynamics = build_dynamics(cfg)
        self.dynamic_levels: list[int] = list(self.dynamics.levels)
        decoder = MotionDecoder if cfg.decoder == "warp" else Decoder
        self.decoder = decoder(cfg, self.dynamic_levels)
        self.part_masks = PartMasks(cfg.part_masks) if cfg.part_masks else None
        self.object_mask = ObjectMask() if cfg.object_mask else None

    @property
    def predicts_motion(self) -> bool:
        return isinstance(self.decoder, MotionDecoder)

    def encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """E_sigma: ``(B, 3, R, R)`` -> all encoder levels, finest first."""
        return self.object_encoder(image)

    def decode(self, levels: list[torch.Tensor | None]) -> torch.Tensor:
        """G drawing every pixel: encoder-indexed levels (finest first) -> ``(B, 3, R, R)`` in [-1, 1]."""
        return self.decoder(levels)

    def autoencode(self, image: torch.Tensor) -> torch.Tensor:
        """Stage-1 reconstruction G(E_sigma(x)): ``(B, 3, R, R)`` -> ``(B, 3, R, R)``."""
        return self.decode(self.encode(image))

    def animate(self, image: torch.Tensor, poke_map: torch.Tensor, seq_len: int | None = None,
                last_only: bool = False, decode: list[int] | None = None,
                parts: torch.Tensor | None = None, movable: torch.Tensor | None = None,
                motion_only: bool = False) -> Animation:
        """``last_only``: decode only the final state, ``video (B, 1, 3, R, R)`` (heatmaps need
        nothing else, and decoding is most of the cost of a forward pass). ``decode``: the frame
        indices (0 = frame 1) to decode, ``video (B, len(decode), 3, R, R)``; all when None.
        ``parts``: the image's part masks ``(B, K, R, R)`` when already known (many pokes of one
        image need them once); computed from ``image`` otherwise. ``movable``: the same for the object
        mask ``(B, 1, R, R)``. ``motion_only`` (motion-first decoder): the flow and mask without drawing
        the frames, ``video`` None (heatmaps read the motion alone)."""
        steps = seq_len or self.cfg.seq_len
        poke_map = poke_map * self.cfg.poke_gain
        if self.object_mask is not None:
            if movable is None:
                movable = self.object_mask(image)
            # a poke pushes only what can move
            poke_map = poke_where_movable(poke_map, movable, self.cfg.poke_radius, threshold=self.cfg.movable_threshold)
        sigma = self.encode(image)
        phi = self.poke_encoder(poke_map)
        states = self.dynamics([sigma[i] for i in self.dynamic_levels], phi, steps, poke_map)
        if last_only:
            decode = [steps - 1]
        if decode is None:
            decode = list(range(steps))
        decoded = [states[i] for i in decode]
        t, b = len(decoded), image.shape[0]
        # decode all time steps in one batch: (T*B, C, S, S) per level, time-major
        stacked: list[torch.Tensor | None] = [None] * len(sigma)
        for k, level in enumerate(self.dynamic_levels):
            stacked[level] = torch.cat([s[k] for s in decoded], 0)

        def per_video(x: torch.Tensor) -> torch.Tensor:  # (T*B, C, R, R) -> (B, T, C, R, R)
            return x.view(t, b, *x.shape[1:]).transpose(0, 1)

        if not self.predicts_motion:
            return Animation(per_video(self.decode(stacked)), states)
        times = torch.tensor([(i + 1) / steps for i in decode], device=image.device).repeat_interleave(b)
        prior = self.decoder.motion_prior(poke_map.float()).repeat(t, 1, 1, 1)  # once per video, not per frame
        if self.part_masks is None:
            parts = None
        elif parts is None:
            parts = self.part_masks(image)
        out = self.decoder.render(stacked, image.repeat(t, 1, 1, 1), poke_map.repeat(t, 1, 1, 1), times, prior,
                                  None if parts is None else parts.repeat(t, 1, 1, 1),
                                  None if movable is None else movable.repeat(t, 1, 1, 1), draw=not motion_only)
        video = None if out.frame is None else per_video(out.frame)
        return Animation(video, states, per_video(out.flow), per_video(out.mask), parts, movable)

    def forward(
        self, image: torch.Tensor, poke_map: torch.Tensor, seq_len: int | None = None, last_only: bool = False
    ) -> tuple[torch.Tensor, list[list[torch.Tensor]]]:
        out = self.animate(image, poke_map, seq_len, last_only)
        return out.video, out.states
