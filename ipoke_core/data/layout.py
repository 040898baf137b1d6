"""The on-disk layout of a prepared data set (synthetic and real videos share it).

::

    DIR/dataset.json      {"format": "ipoke-dataset", "version": 1, "kind": "plant"|"figure"|"video",
                           "resolution": R, "n_frames": T_clip (synthetic; null for videos, see info.json),
                           "fps": ..., "seed": ..., "has_ground_truth": bool, "source": "...",
                           "window_starts": "first"|"all", "flow_spans": [W, ...],
                           "poke_stats": {"span": W, "mean_magnitude_px": ..., "p95_magnitude_px": ...},
                           "complete": bool, "n_clips": ..., ...}
    DIR/train.txt, DIR/test.txt      one clip id per line (deterministic split)
    DIR/clips/<id>/frames.npy        uint8 (N, R, R, 3), RGB
    DIR/clips/<id>/flow_w<W>.npy     float16 (S, R, R, 2): OpenCV DIS flow at resolution R from frame
                                     s to frame s + W for every window start s (flow[y, x] = (dx, dy));
                                     "first": S = 1, s = 0 (synthetic clips start at rest and are poked
                                     at t = 0); "all": S = N - W, s = 0 .. N - W - 1 (real videos)
    DIR/clips/<id>/step_motion.npy   float32 (N - 1,): spatial mean of |flow(t -> t+1)| for every frame
                                     pair (paper App. B, Eq. 10; DIS for videos, ground truth for synthetic)
    DIR/clips/<id>/info.json         {"n_frames": N, "fg_magnitudes": [...] (sample of foreground flow
                                     magnitudes of span poke_stats.span, for the data set statistics), ...}
    DIR/clips/<id>/gt.npz            synthetic only, see ``ipoke_core.data.ground_truth``

A clip folder appears under its final name only once all its files are written (it is written
under a temporary name and renamed), so an interrupted run never leaves a half-written clip.
Magnitudes in ``poke_stats`` are in pixels at resolution R.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ipoke_core import json_text
from ipoke_core.errors import UserError
from ipoke_core.io_utils import atomic_write_text

FORMAT = "ipoke-dataset"
VERSION = 1
FRAMES = "frames.npy"
GT = "gt.npz"
INFO = "info.json"
STEP_MOTION = "step_motion.npy"
SPLITS = ("train", "test")


class DatasetError(UserError, ValueError):
    """A data set folder is missing, incomplete or inconsistent; the message names the file."""


def flow_name(span: int) -> str:
    """File name of the cached first -> last flow over ``span`` frames."""
    return f"flow_w{int(span)}.npy"


def clip_dir(root: str | Path, clip_id: str) -> Path:
    return Path(root) / "clips" / clip_id


def write_dataset_meta(root: str | Path, meta: dict[str, Any]) -> None:
    meta = {"format": FORMAT, "version": VERSION, **meta}
    atomic_write_text(Path(root) / "dataset.json", json.dumps(meta, indent=2, sort_keys=False) + "\n")


def read_dataset_meta(root: str | Path) -> dict[str, Any]:
    """``dataset.json`` of a data set folder, checked for format and version."""
    path = Path(root) / "dataset.json"
    if not Path(root).is_dir():
        raise DatasetError(f"data set folder {root} does not exist")
    if not path.is_file():
        raise DatasetError(f"{root} is not a data set (no dataset.json); make one with `ipoke synth` or `ipoke prepare`")
    try:
        meta = json_text.parse(path.read_text())
    except (OSError, UnicodeDecodeError, json_text.JsonError) as e:
        raise DatasetError(f"{path}: cannot read: {e}") from None
    if not isinstance(meta, dict):  # a list or a number parses too
        raise DatasetError(f"{path}: not an iPoke data set description (a JSON {type(meta).__name__}, not an object)")
    if meta.get("format") != FORMAT:
        raise DatasetError(f"{path}: not an iPoke data set description (format {meta.get('format')!r})")
    if meta.get("version") != VERSION:
        raise DatasetError(f"{path}: data set format version {meta.get('version')} is not supported "
                           f"(this build reads version {VERSION}); prepare the data again")
    for key in ("kind", "resolution", "window_starts", "flow_spans"):
        if key not in meta:
            raise DatasetError(f"{path}: missing field {key!r}")
    return meta


def write_split(root: str | Path, split: str, ids: list[str]) -> None:
    atomic_write_text(Path(root) / f"{split}.txt", "".join(f"{i}\n" for i in ids))


def read_split(root: str | Path, split: str) -> list[str]:
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    path = Path(root) / f"{split}.txt"
    if not path.is_file():
        raise DatasetError(f"{path} is missing; the data set is incomplete (run the preparation again to finish it)")
    try:
        ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read: {e}") from None
    # a listed clip that is not there fails later, deep in a loader, after minutes of work: say so now
    missing = [i for i in ids if not clip_dir(root, i).is_dir()]
    if missing:
        raise DatasetError(f"{path} names {len(missing)} clip(s) that are not in {Path(root) / 'clips'} "
                           f"(e.g. {missing[0]!r}); prepare the data set again or remove those lines")
    return ids


def load_frames(root: str | Path, clip_id: str, mmap: bool = True) -> np.ndarray:
    """``(N, R, R, 3) uint8`` frames of one clip (memory-mapped by default)."""
    path = clip_dir(root, clip_id) / FRAMES
    try:
        a = np.load(path, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing (clip listed in the split but not prepared)") from None
    except (ValueError, OSError) as e:
        raise DatasetError(f"{path}: unreadable frames: {e}") from None
    if a.ndim != 4 or a.shape[3] != 3 or a.dtype != np.uint8:
        raise DatasetError(f"{path}: expected (N, R, R, 3) uint8 frames, got {a.shape} {a.dtype}")
    return a


def load_flow(root: str | Path, clip_id: str, span: int, resolution: int, mmap: bool = True) -> np.ndarray:
    """``(S, R, R, 2) float16`` cached flow of span ``span``; checks it matches the frames' resolution."""
    path = clip_dir(root, clip_id) / flow_name(span)
    try:
        a = np.load(path, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise DatasetError(
            f"{path} is missing: no flow cache for windows of {span} frames; "
            f"compute it with `ipoke prepare --flow-only --out {root} --span {span}`"
        ) from None
    except (ValueError, OSError) as e:
        raise DatasetError(f"{path}: unreadable flow cache: {e}") from None
    if a.ndim != 4 or a.shape[1:] != (resolution, resolution, 2):
        raise DatasetError(
            f"{path}: flow cache of shape {a.shape} does not match the data set resolution {resolution} "
            f"(a cache from another resolution?); delete it and run `ipoke prepare --flow-only --out {root} --span {span}`"
        )
    return a


def read_info(root: str | Path, clip_id: str) -> dict[str, Any]:
    path = clip_dir(root, clip_id) / INFO
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing (clip not completely prepared)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetError(f"{path}: cannot read: {e}") from None


def foreground_magnitudes(flow: np.ndarray, rng: np.random.Generator, n: int = 32) -> list[float]:
    """A sample of the flow magnitudes above the frame's mean (the paper's foreground pokes)."""
    mag = np.hypot(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)).ravel()
    fg = mag[mag > mag.mean()]
    if fg.size == 0:
        return []
    return [round(float(v), 3) for v in rng.choice(fg, size=min(n, fg.size), replace=False)]


def poke_stats(samples: list[float], span: int) -> dict[str, Any]:
    """Data set statistics of foreground poke magnitudes (pixels at the stored resolution)."""
    if not samples:
        return {"span": span, "mean_magnitude_px": 0.0, "p95_magnitude_px": 0.0, "n_samples": 0}
    a = np.asarray(samples, np.float64)
    return {"span": span, "mean_magnitude_px": round(float(a.mean()), 3),
            "p95_magnitude_px": round(float(np.percentile(a, 95)), 3), "n_samples": int(a.size)}
