"""Flow targets of the motion-first decoder: the backward flow from each target frame to the source.

The decoder renders frame t as ``source(p + flow_t(p))`` (see ``ipoke_core.model.warp``), so its
target is the *backward* flow: for every pixel of frame t, where that point was in the source.

- Synthetic clips: exact, from the ground-truth part poses (``backward_flow``). Parts are rigid, so
  a pixel q of frame t that belongs to part P came from ``T_P(0) T_P(t)^-1 q``. Part P owns q when
  that source point lies on P in the frame-0 part map. Where several parts claim q (overlapping
  parts that moved apart) the one that moved most wins: distal parts (leaves, hands, feet) are
  drawn over their stems and trunks, and they move most. Background pixels, and pixels no part
  claims (uncovered background), do not move: flow 0.
- Real videos: DIS flow from frame t back to the source (``dis_backward_flow``).

``window_flow_target`` serves one training window's target, computed once and cached next to its clip.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ipoke_core.data.layout import GT, clip_dir
from ipoke_core.flow import dis_flow_batch
from ipoke_core.io_utils import atomic_path


def backward_flow(parts: np.ndarray, starts: np.ndarray, angles: np.ndarray, source_frame: int,
                  target_frames: list[int] | np.ndarray, resolution: int) -> np.ndarray:
    """Exact backward flow of a synthetic clip at ``resolution``: ``(T, r, r, 2) float32`` in model pixels.

    Args:
        parts: ``(S, S)`` int part map of frame 0 (-1 = background), S the stored resolution.
        starts: ``(N, P, 2)`` joint positions and ``angles`` ``(N, P)`` absolute angles of every frame.
        source_frame: the window's first frame (the decoder's source).
        target_frames: the T frames to draw.
        resolution: r; model pixel (x', y') stands for the stored point ``(x' + 0.5) * S / r - 0.5``.
    """
    size = parts.shape[0]
    r = int(resolution)
    scale = r / size
    coords = (np.arange(r) + 0.5) / scale - 0.5
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    qx, qy = xx.reshape(1, -1), yy.reshape(1, -1)  # (1, N) stored pixels
    starts, angles = starts.astype(np.float64), angles.astype(np.float64)
    n_parts = starts.shape[1]
    pid = np.arange(n_parts)[:, None]  # (P, 1)
    out = np.zeros((len(target_frames), r * r, 2), np.float32)

    def to_local(t: int) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = qx - starts[t, :, 0:1], qy - starts[t, :, 1:2]
        c, s = np.cos(angles[t])[:, None], np.sin(angles[t])[:, None]
        return dx * c + dy * s, -dx * s + dy * c  # (P, N) local (u, v) in every part

    def to_world(t: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(angles[t])[:, None], np.sin(angles[t])[:, None]
        return starts[t, :, 0:1] + u * c - v * s, starts[t, :, 1:2] + u * s + v * c

    for i, t in enumerate(target_frames):
        u, v = to_local(int(t))
        x0, y0 = to_world(0, u, v)  # where each part would have had q in frame 0
        xi, yi = np.round(x0).astype(int), np.round(y0).astype(int)
        inside = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
        owner = np.full(xi.shape, -1)
        owner[inside] = parts[yi[inside], xi[inside]]
        claims = owner == pid  # (P, N): part P owns pixel q at frame t
        if not claims.any():
            continue
        xs, ys = to_world(int(source_frame), u, v)  # the point in the source frame
        moved = np.hypot(xs - qx, ys - qy)
        best = np.where(claims, moved, -1.0).argmax(0)  # (N,)
        cols = np.arange(qx.shape[1])
        owned = claims[best, cols]
        out[i, owned, 0] = (xs[best, cols] - qx[0])[owned] * scale
        out[i, owned, 1] = (ys[best, cols] - qy[0])[owned] * scale
    return out.reshape(len(target_frames), r, r, 2)


def dis_backward_flow(source: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """DIS flow from each of ``frames (T, r, r, 3) uint8`` back to ``source (r, r, 3)``: ``(T, r, r, 2)``."""
    return dis_flow_batch(list(frames), [source] * len(frames))


def window_flow_target(root: str | Path, clip_id: str, start: int, resolution: int, seq_len: int,
                       frame_step: int, window: np.ndarray, exact: bool) -> torch.Tensor:
    """Backward flow ``(T, 2, r, r)`` float32 from each target frame of a window to its source.

    Args:
        start: the window's first frame; its targets are ``start + k * frame_step``, k = 1..seq_len.
        window: ``(T + 1, r, r, 3) uint8`` the window's source and target frames at ``resolution``
            (used only for DIS flow).
        exact: the clip has ground truth (``gt.npz``): ``backward_flow`` from the part poses, else DIS.

    Computed once per window and cached next to the clip (float16, a few kB), because DIS and the
    exact flow cost more than loading; a read-only data set is served without the cache.
    """
    path = clip_dir(root, clip_id) / f"flow_target_s{start}_r{resolution}_t{seq_len}x{frame_step}.npy"
    try:
        flow = np.load(path)
    except (OSError, ValueError):
        flow = None
    if flow is None or flow.shape != (seq_len, resolution, resolution, 2):
        targets = list(range(start + frame_step, start + seq_len * frame_step + 1, frame_step))
        if exact:
            with np.load(clip_dir(root, clip_id) / GT) as z:
                flow = backward_flow(z["parts"], z["starts"], z["angles"], start, targets, resolution)
        else:
            flow = dis_backward_flow(window[0], window[1:])
        flow = flow.astype(np.float16)
        try:
            with atomic_path(path) as tmp:
                np.save(tmp, flow)
        except OSError:
            pass  # read-only data set: recompute next time
    return torch.from_numpy(np.ascontiguousarray(flow, np.float32)).permute(0, 3, 1, 2)
