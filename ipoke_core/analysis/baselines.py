"""Baselines that turn a source image and pokes into a video without a learned model.

- static: the source repeated; what a model scores that ignores the poke entirely.
- flow warping (in the spirit of Hao et al. 2018, the paper's Table 2 competitor): the poke's
  displacement is spread over the image with a Gaussian falloff around the poke location,
  giving a dense flow field; frame t warps the source by ``t / T`` of it (linear in time).
  It moves the neighbourhood of the poke rigidly-ish and knows nothing about object structure.

Both have the signature of ``Poker.generate``: ``(source (R, R, 3) uint8, pokes_per_video in
model px) -> (N, T, R, R, 3) uint8``. :func:`flow_warp_motion` is the flow-warp baseline's own
motion (the field it warps with), as ``Poker.last_motion`` is a model's.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ipoke_core.poke import Poke


def static_video(source: np.ndarray, pokes_per_video: Sequence[Sequence[Poke]], seq_len: int) -> np.ndarray:
    """``(N, T, R, R, 3)``: the source repeated ``seq_len`` times for each of the N poke lists."""
    return np.broadcast_to(source, (len(pokes_per_video), seq_len) + source.shape).copy()


def gaussian_poke_flow(pokes: Sequence[Poke], size: int, sigma: float) -> np.ndarray:
    """Dense ``(size, size, 2)`` flow: each poke's (dx, dy) weighted by ``exp(-d^2 / 2 sigma^2)``, summed."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.zeros((size, size, 2), np.float32)
    for p in pokes:
        w = np.exp(-((xs - p.x) ** 2 + (ys - p.y) ** 2) / (2.0 * sigma * sigma))
        flow[..., 0] += w * p.dx
        flow[..., 1] += w * p.dy
    return flow


def flow_warp_field(pokes: Sequence[Poke], size: int, sigma: float | None = None) -> np.ndarray:
    """The flow-warp baseline's displacement at the last frame, ``(size, size, 2) float32`` model px:
    :func:`gaussian_poke_flow` with ``sigma`` the falloff radius in pixels (default size / 8)."""
    return gaussian_poke_flow(pokes, size, float(sigma) if sigma else size / 8.0)


def flow_warp_motion(source: np.ndarray, pokes: Sequence[Poke], sigma: float | None = None) -> np.ndarray:
    """``(N, R, R, 2) float32``: the forward motion of every source pixel at the last frame, one poke per
    video. It is the warp's field itself (the warp samples ``q - f(q)``, whose inverse moves a source
    pixel p by about ``f(p)`` for these smooth, small fields)."""
    return np.stack([flow_warp_field([p], source.shape[0], sigma) for p in pokes]).astype(np.float32)


def flow_warp_video(source: np.ndarray, pokes: Sequence[Poke], seq_len: int, sigma: float | None = None) -> np.ndarray:
    """One flow-warping baseline video ``(T, R, R, 3) uint8`` for ``pokes`` (model px).

    ``sigma`` is the falloff radius in pixels (default R / 8). The warp is backward: output pixel
    q samples the source at ``q - f_t(q)``, a good inverse for the smooth, small fields used here.
    """
    r = source.shape[0]
    flow = flow_warp_field(pokes, r, sigma)
    ys, xs = np.mgrid[0:r, 0:r].astype(np.float32)
    frames = []
    for t in range(1, seq_len + 1):
        f = flow * (t / seq_len)
        frames.append(cv2.remap(source, xs - f[..., 0], ys - f[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    return np.stack(frames)


def flow_warp_videos(source: np.ndarray, pokes_per_video: Sequence[Sequence[Poke]], seq_len: int,
                     sigma: float | None = None) -> np.ndarray:
    """``(N, T, R, R, 3)``: :func:`flow_warp_video` for each poke list."""
    return np.stack([flow_warp_video(source, p, seq_len, sigma) for p in pokes_per_video])
