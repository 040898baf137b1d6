"""Contact sheets of a data set: a few clips as rows of frames, the poke drawn on the first frame."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ipoke_core.data.layout import GT, clip_dir, load_frames, read_split


def contact_sheet(root: str | Path, n_clips: int = 6, frames: tuple[int, ...] = (0, 2, 4, 6, 8, 10), upscale: int = 1,
                  clip_ids: list[str] | None = None) -> np.ndarray:
    """``(H, W, 3) uint8``: one row per clip, one column per frame index; on frame 0 a red dot marks
    the poked point and a red arrow the direction of the poke force (synthetic data)."""
    ids = clip_ids if clip_ids is not None else read_split(root, "train")[:n_clips]
    rows = []
    for cid in ids:
        f = np.asarray(load_frames(root, cid))
        idx = [min(i, len(f) - 1) for i in frames]
        tiles = [f[i] for i in idx]
        if upscale > 1:
            tiles = [cv2.resize(t, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST) for t in tiles]
        tiles = [np.array(t, copy=True) for t in tiles]
        gt_path = clip_dir(root, cid) / GT
        if gt_path.exists():
            with np.load(gt_path) as z:
                x, y = z["poke"][:2]
                # the arrow shows the force direction, at a fixed length for visibility
                fx, fy = z["poke"][2:4]
            n = float(np.hypot(fx, fy)) or 1.0
            length = 0.12 * tiles[0].shape[0]
            p0 = (int(round((x + 0.5) * upscale - 0.5)), int(round((y + 0.5) * upscale - 0.5)))
            p1 = (int(round(p0[0] + fx / n * length)), int(round(p0[1] + fy / n * length)))
            cv2.arrowedLine(tiles[0], p0, p1, (255, 30, 30), max(1, upscale // 2), cv2.LINE_AA, tipLength=0.3)
            cv2.circle(tiles[0], p0, max(1, upscale), (255, 30, 30), -1, cv2.LINE_AA)
        gap = np.full((tiles[0].shape[0], 2, 3), 255, np.uint8)
        rows.append(np.concatenate([x for t in tiles for x in (t, gap)][:-1], 1))
    hgap = np.full((2, rows[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for r in rows for x in (r, hgap)][:-1], 0)
