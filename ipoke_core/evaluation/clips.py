"""The test clips of an evaluation: :class:`EvalClip` and reading them from a prepared data set."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ipoke_core.errors import UserError
from ipoke_core.poke import Poke


class EvalError(UserError, ValueError):
    """The evaluation cannot run as asked (incompatible checkpoint and data, empty test set...)."""


@dataclass
class EvalClip:
    """One test sample, in model pixels.

    source: ``(R, R, 3) uint8`` frame 0; target: ``(T, R, R, 3) uint8`` the true frames 1..T;
    poke: the clip's poke; motion: ``(R, R, 2)`` true displacement of every source pixel at
    frame T (None without ground truth); parts ``(R, R)`` (-1 background) and parents ``(P,)``;
    clip_id: the clip's folder name in the data set.
    """

    index: int
    source: np.ndarray
    target: np.ndarray
    poke: Poke
    motion: np.ndarray | None = None
    parts: np.ndarray | None = None
    parents: np.ndarray | None = None
    clip_id: str = ""

    @property
    def has_gt(self) -> bool:
        return self.motion is not None and self.parts is not None and self.parents is not None


def background_poke(clip: EvalClip) -> Poke | None:
    """A poke of the clip's magnitude on the background pixel farthest from the object (None if no background)."""
    import cv2

    if clip.parts is None:
        return None
    background = (clip.parts < 0).astype(np.uint8)
    if not background.any():
        return None
    dist = cv2.distanceTransform(background, cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Poke(float(x), float(y), clip.poke.dx, clip.poke.dy)


def _uint8(frames: Any) -> np.ndarray:
    """``(..., 3, R, R)`` tensor in [-1, 1] -> ``(..., R, R, 3) uint8``."""
    from ipoke_core.inference import to_uint8

    return to_uint8(frames)


def load_eval_clips(root: Path, cfg: Any, n_clips: int | None = None, seed: int = 0) -> tuple[list[EvalClip], str]:
    """The test split of a prepared data set as :class:`EvalClip` s for a model config ``cfg``.

    Clips are reduced to ``cfg.resolution`` by the dataset (a data set stored at a lower
    resolution than the model is refused), with ``cfg.seq_len`` target frames and foreground
    pokes only (a background poke has no target to reach). On synthetic data the poke is sampled
    from the true motion (``poke_source="ground_truth"``), so its target is where the object
    point truly went; on real videos from the cached DIS flow, as in the paper. ``n_clips`` test
    windows are chosen by a seeded permutation (all if None). Returns the clips and a one-line
    description of the data.
    """
    from ipoke_core.data import PokeDataset, read_dataset_meta

    root = Path(root)
    meta = read_dataset_meta(root)
    stored = int(meta.get("resolution", cfg.resolution))
    if stored < cfg.resolution:
        raise EvalError(f"the data set {root} is stored at {stored}x{stored}, the checkpoint works at "
                        f"{cfg.resolution}x{cfg.resolution}: upsampled test clips would not be a fair test; "
                        f"prepare the data at >= {cfg.resolution} px or evaluate a {stored}px checkpoint")
    has_gt = bool(meta.get("has_ground_truth"))
    ds = PokeDataset(root, split="test", resolution=cfg.resolution, seq_len=cfg.seq_len, background_fraction=0.0,
                     poke_mode=cfg.poke_mode, poke_radius=cfg.poke_radius, poke_scale=cfg.poke_scale, seed=seed,
                     train=False, poke_source="ground_truth" if has_gt else "flow")
    if len(ds) == 0:
        raise EvalError(f"the data set {root} has no test clips long enough for {cfg.seq_len} frames")
    order = np.random.default_rng(seed).permutation(len(ds))
    if n_clips:
        order = order[:n_clips]
    clips = []
    for i in sorted(int(k) for k in order):
        item = ds[i]
        x, y, dx, dy = (float(v) for v in item["poke"])
        clip = EvalClip(i, _uint8(item["source"]), _uint8(item["frames"]), Poke(x, y, dx, dy), clip_id=item["clip_id"])
        if has_gt:
            gt = ds.ground_truth(i)
            clip.motion = np.asarray(gt["motion"][-1], np.float32)
            clip.parts = np.asarray(gt["parts"]).astype(np.int64)
            clip.parents = np.asarray(gt["parents"]).astype(np.int64)
        clips.append(clip)
    gt_text = "with ground truth" if has_gt else "no ground truth"
    return clips, f"{meta.get('kind', '?')}, {stored}px stored, test split, {len(clips)} of {len(ds)} windows, {gt_text}"
