"""The rows of an evaluation table: :class:`Method` (anything that turns a source and pokes into videos)
and the ones ``ipoke eval`` knows: a checkpoint, the still source, Hao-style flow warping."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ipoke_core.analysis.baselines import flow_warp_motion, flow_warp_videos, static_video
from ipoke_core.poke import Poke

GenerateFn = Callable[[np.ndarray, Sequence[Sequence[Poke]]], np.ndarray]
MotionFn = Callable[[np.ndarray, list[Poke]], np.ndarray]  # (source, pokes) -> (N, R, R, 2) float32 last-frame motion


@dataclass
class Method:
    """A row of the table.

    generate: like ``Poker.generate``: ``(source, pokes_per_video) -> (N, T, R, R, 3) uint8``
    (used for heatmaps). generate_clips: one video per (source, poke) pair across different
    sources, ``(sources (N, R, R, 3), pokes) -> (N, T, R, R, 3)``; defaults to a loop over generate.
    motion: the method's own last-frame motion, ``(source (R, R, 3) uint8, pokes) -> (N, R, R, 2)
    float32`` model px, one poke per video (e.g. ``Poker.last_motion``); None: DIS flow of its frames.
    """

    name: str
    generate: GenerateFn
    generate_clips: Callable[[np.ndarray, Sequence[Poke]], np.ndarray] | None = None
    motion: MotionFn | None = None

    def videos(self, sources: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
        """``(N, T, R, R, 3) uint8``: one video per ``(sources[i] (R, R, 3), pokes[i])``."""
        if self.generate_clips is not None:
            return self.generate_clips(sources, pokes)
        return np.concatenate([self.generate(s, [[p]]) for s, p in zip(sources, pokes)])

    def last_motion(self, source: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
        """``(N, R, R, 2) float32``: where every source pixel is at the last frame, one poke per video:
        ``motion`` where given, else DIS flow from the source to the last generated frame (as
        ``correlation_heatmap`` measures it without ``motion=``)."""
        import cv2

        from ipoke_core.flow import make_dis

        if self.motion is not None:
            return np.asarray(self.motion(source, list(pokes)), np.float32)
        videos = self.generate(source, [[p] for p in pokes])
        dis = make_dis("medium", small=max(source.shape[:2]) <= 160)
        gray = cv2.cvtColor(source, cv2.COLOR_RGB2GRAY)
        return np.stack([dis.calc(gray, cv2.cvtColor(v[-1], cv2.COLOR_RGB2GRAY), None) for v in videos]).astype(np.float32)


def static_method(seq_len: int) -> Method:
    """The source repeated: a model that ignores the poke."""
    return Method("static (source repeated)", lambda src, pokes: static_video(src, pokes, seq_len),
                  motion=lambda src, pokes: np.zeros((len(pokes),) + src.shape[:2] + (2,), np.float32))


def flow_warp_method(seq_len: int, sigma: float | None = None) -> Method:
    """Warp the source along the poke spread by a Gaussian falloff, linearly in time (Hao et al. in spirit)."""
    return Method("flow warping (Hao-style)", lambda src, pokes: flow_warp_videos(src, pokes, seq_len, sigma),
                  motion=lambda src, pokes: flow_warp_motion(src, pokes, sigma))


def model_method(name: str, poker: Any, batch_size: int = 32) -> Method:
    """A checkpoint as a row; clips of different sources are batched into shared forward passes."""
    import torch

    from ipoke_core.inference import to_tensor, to_uint8
    from ipoke_core.poke import rasterize_batch

    cfg = poker.config

    @torch.inference_mode()
    def generate_clips(sources: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
        r, n = cfg.resolution, len(pokes)
        out = np.empty((n, cfg.seq_len, r, r, 3), np.uint8)
        for s in range(0, n, batch_size):
            img = to_tensor(sources[s:s + batch_size]).to(poker.device)
            pm = rasterize_batch([[p] for p in pokes[s:s + batch_size]], r, cfg.poke_radius, cfg.poke_mode,
                                 cfg.poke_scale).to(poker.device)
            with torch.autocast(poker.device.type, dtype=poker.amp_dtype, enabled=poker.amp_dtype is not None):
                video, _ = poker.model(img, pm)
            out[s:s + len(img)] = to_uint8(video)
        return out

    motion = (lambda src, pk: poker.last_motion(src, pk, batch_size)) if poker.predicts_motion else None
    return Method(name, lambda src, pk: poker.generate(src, pk, batch_size=batch_size), generate_clips, motion)
