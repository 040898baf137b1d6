"""Ground truth of synthetic clips: ``clips/<id>/gt.npz`` and reading it at any resolution.

``gt.npz`` holds (S = stored resolution, T = frames, P = parts):

- ``poke``      float32 (6,): x, y (pixel of frame 0), fx, fy (force), disp_dx, disp_dy (the poked
                point's true displacement at the clip's last frame)
- ``poke_part`` int32 (): the poked part; ``poke_uv`` float32 (2,) the point in that part's frame;
  ``poke_duration`` float32 (): seconds the force was held
- ``parts``     int16 (S, S): part id of every pixel of frame 0, -1 = background
- ``parents``   int32 (P,): the kinematic tree (-1 = root); ``part_kinds`` int8 (P,)
- ``mask``      bool (S, S): ``parts >= 0``
- ``starts``    float32 (T, P, 2), ``angles`` float32 (T, P): each part's joint position and
  absolute angle in every frame. The dense forward motion of every frame-0 object pixel to every
  frame follows exactly from these (rigid parts), so it is computed on load rather than stored
  (it would be 2 MB per clip at 128 x 128 x 30).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ipoke_core.data.layout import GT, DatasetError, clip_dir
from ipoke_core.data.synthetic.clip import SyntheticClip, object_motion


def save_ground_truth(path: Path, clip: SyntheticClip) -> None:
    p = clip.poke
    np.savez(
        path,
        poke=np.array([p["x"], p["y"], p["fx"], p["fy"], p["disp_dx"], p["disp_dy"]], np.float32),
        poke_part=np.int32(p["part"]),
        poke_uv=np.array([p["u"], p["v"]], np.float32),
        poke_duration=np.float32(p["duration"]),
        parts=clip.parts,
        parents=clip.parents,
        part_kinds=clip.part_kinds,
        mask=clip.mask,
        starts=clip.starts,
        angles=clip.angles,
    )


def load_ground_truth(root: str | Path, clip_id: str, resolution: int | None = None) -> dict[str, Any]:
    """The ground truth of one synthetic clip, resampled to ``resolution`` (default: stored size).

    Returns a dict with
        ``poke`` ``(x, y, dx, dy)`` float32: location in frame 0 and the true displacement of that
        point at the clip's last frame, in pixels at ``resolution``;
        ``force`` (2,), ``poke_part`` int, ``motion`` ``(T, r, r, 2) float32`` forward motion of
        every frame-0 object pixel to every frame (zero on the background), ``parts`` ``(r, r)``
        int16 (-1 = background), ``mask`` ``(r, r)`` bool, ``parents`` ``(P,)``, ``part_kinds`` ``(P,)``.

    At a lower resolution, pixel (x', y') stands for the point at its centre,
    ``x = (x' + 0.5) * S / r - 0.5``: its part is the stored part map's nearest pixel and its motion
    is that point's exact rigid motion, scaled to the new pixels.
    """
    path = clip_dir(root, clip_id) / GT
    try:
        with np.load(path) as z:
            gt = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing: this clip has no ground truth (only synthetic data sets have it)") from None
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: unreadable ground truth: {e}") from None
    try:  # a file of the right name but other arrays (or none) must give one line, not a KeyError
        size = gt["parts"].shape[0]
        r = size if resolution is None else int(resolution)
        scale = r / size
        coords = (np.arange(r) + 0.5) / scale - 0.5
        yy, xx = np.meshgrid(coords, coords, indexing="ij")
        near_x = np.clip(np.round(xx).astype(int), 0, size - 1)
        near_y = np.clip(np.round(yy).astype(int), 0, size - 1)
        parts = gt["parts"][near_y, near_x]
        starts, angles = gt["starts"].astype(np.float64), gt["angles"].astype(np.float64)
        motion = np.zeros((starts.shape[0], r, r, 2), np.float32)
        ys, xs = np.nonzero(parts >= 0)
        if len(xs):
            motion[:, ys, xs] = object_motion(parts[ys, xs].astype(int), xx[ys, xs], yy[ys, xs], starts, angles) * scale
        x, y, fx, fy, ddx, ddy = (float(v) for v in gt["poke"])
        return {
            "poke": np.array([(x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5, ddx * scale, ddy * scale], np.float32),
            "force": np.array([fx, fy], np.float32),
            "poke_part": int(gt["poke_part"]),
            "motion": motion,
            "parts": parts.astype(np.int16),
            "mask": parts >= 0,
            "parents": gt["parents"].astype(np.int64),
            "part_kinds": gt["part_kinds"],
            "resolution": r,
        }
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise DatasetError(f"{path}: not a ground-truth file of this program ({type(e).__name__}: {e})") from None
