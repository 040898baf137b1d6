"""The ground truth one training window needs, at model resolution (synthetic clips only).

``PokeDataset`` samples ground-truth pokes from ``true_motion_field`` (with
``poke_source="ground_truth"``), places applied pokes with ``applied_poke`` and serves
``true_part_map`` as the part masks' label target. All read ``clips/<id>/gt.npz``
(``ipoke_core.data.ground_truth``). Model pixel (x', y') at resolution r stands for the stored
point at its centre, ``(x' + 0.5) * S / r - 0.5`` (S = the stored resolution), as in
``load_ground_truth``: its part is the stored part map's nearest pixel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ipoke_core.data.layout import GT, clip_dir
from ipoke_core.data.sampling import SampledPoke
from ipoke_core.data.synthetic.clip import object_motion

ForcePoint = tuple[float, float, int]  # (x, y) in model pixels where the simulated force acted, and its part


def true_motion_field(root: str | Path, clip_id: str, resolution: int,
                      span: int) -> tuple[np.ndarray, np.ndarray, ForcePoint]:
    """The true motion of a clip's first window, its part map and where the force acted.

    Returns ``field`` ``(r, r, 2)`` float32: the displacement of each frame-0 pixel to frame ``span``
    in model pixels (zero on the background); ``parts`` ``(r, r)`` the frame-0 part map (-1 =
    background); and the force's point ``(x, y, part)`` in model pixels.
    """
    with np.load(clip_dir(root, clip_id) / GT) as z:
        parts, starts, angles = z["parts"], z["starts"], z["angles"]
        x0, y0 = (float(v) for v in z["poke"][:2])
        poke_part = int(z["poke_part"])
    r, size = int(resolution), parts.shape[0]
    scale = r / size
    force_point = ((x0 + 0.5) * scale - 0.5, (y0 + 0.5) * scale - 0.5, poke_part)
    pr, coords = _part_map_at(parts, r)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    field = np.zeros((r, r, 2), np.float32)
    ys, xs = np.nonzero(pr >= 0)
    if len(xs):
        sel = [0, span]
        # the exact rigid motion of each pixel's centre point (not the nearest stored pixel's)
        m = object_motion(pr[ys, xs].astype(int), xx[ys, xs], yy[ys, xs], starts[sel].astype(np.float64),
                          angles[sel].astype(np.float64))
        field[ys, xs] = m[1] * (r / size)
    return field, pr, force_point


def true_part_map(root: str | Path, clip_id: str, resolution: int) -> torch.Tensor:
    """The frame-0 part map ``(r, r)`` int64 (-1 = background), sampled at each model pixel's centre
    as ``true_motion_field`` does."""
    with np.load(clip_dir(root, clip_id) / GT) as z:
        parts = z["parts"]
    return torch.from_numpy(_part_map_at(parts, int(resolution))[0].astype(np.int64))


def _part_map_at(parts: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """The stored ``(S, S)`` part map at model resolution: ``(r, r)``, each model pixel the part of the
    stored pixel nearest its centre; and those centres ``(r,)`` in stored pixels (the same along x, y)."""
    size = parts.shape[0]
    coords = (np.arange(r) + 0.5) * size / r - 0.5
    at = np.clip(np.round(coords).astype(int), 0, size - 1)
    return parts[np.ix_(at, at)], coords


def applied_poke(field: np.ndarray, parts: np.ndarray, force_point: ForcePoint, radius: int,
                 rng: np.random.Generator) -> SampledPoke | None:
    """A poke where the simulated force acted: a pixel of the poked part within ``radius`` of the
    force's point (model px), its true displacement as the poke; None if that part is not visible
    there at this resolution or did not move.

    ``field`` ``(r, r, 2)`` and ``parts`` ``(r, r)`` are ``true_motion_field``'s.

    Why: a poke sampled at any moving pixel pairs, say, a leaf that swung because its stem was
    pushed with the stem's response, teaching that poking a leaf moves its parent. At the point
    the force acted the pairing is causal: the poked part and what hangs off it follow, the
    heavier parents barely move (the structure the Fig.-5 heatmaps should show).
    """
    cx, cy, part = force_point
    ys, xs = np.nonzero(parts == part)
    near = (np.abs(xs - cx) <= radius + 0.5) & (np.abs(ys - cy) <= radius + 0.5)
    if not near.any():
        return None
    i = int(rng.choice(np.flatnonzero(near)))
    x, y = int(xs[i]), int(ys[i])
    dx, dy = (float(v) for v in field[y, x])
    if dx == 0.0 and dy == 0.0:
        return None
    return SampledPoke(x, y, dx, dy, False)
