"""``PokeDataset``: training and evaluation samples (source frame, target frames, poke) from a
prepared data set (``ipoke prepare`` or ``ipoke synth``; layout in ``ipoke_core.data.layout``).

A sample is a window of a clip: source = frame ``s``, targets = frames ``s + k * frame_step`` for
k = 1..seq_len. Synthetic clips start at rest and are poked right after frame 0, so their only
window starts at 0 (``window_starts = "first"``); real videos have a window at every frame
(``"all"``; with ``train=False`` every ``seq_len * frame_step``-th, so that test windows do not
overlap). The poke is sampled from the cached DIS flow between the window's first and last frame
(or, with ``poke_source="ground_truth"`` on synthetic data, from the true motion and object mask),
see ``ipoke_core.data.sampling``. Frames and flow are stored at resolution R and reduced on the fly
to the requested resolution r <= R (area averaging; flow vectors scaled by r / R), before the poke
is sampled, so pokes are always in model pixels.

Item (a dict; r = resolution, T = seq_len):

- ``source``  ``(3, r, r)`` float32 in [-1, 1]: the window's first frame
- ``frames``  ``(T, 3, r, r)`` float32 in [-1, 1]: the T frames after it; for a background poke the
  source repeated T times (the paper's still target)
- ``poke_map`` ``(2, r, r)`` float32: ``ipoke_core.poke.rasterize`` of the poke (radius, mode, scale)
- ``poke``    ``(4,)`` float32: x, y, dx, dy in model pixels. shift mode: (dx, dy) is the flow at
  (x, y); impulse mode: unit direction * poke_scale * strength, strength in [0, 1] (App. B)
- ``is_background`` bool tensor; ``has_gt`` bool tensor; ``index`` int; ``clip_id`` str; ``start`` int
- ``flow`` ``(T, 2, r, r)`` float32, only with ``flow_targets=True``: the backward flow from each
  target frame to the source in model pixels (exact on synthetic data, DIS on real video; zero for
  a background poke), the target of the motion-first decoder (``ipoke_core.data.flow_targets``)
- ``parts`` ``(r, r)`` int64, only with ``part_targets=True`` (synthetic data whose windows start at
  frame 0): the source's true part map (-1 = background), the target of the part masks' label loss
  (``ipoke_core.data.window_truth``, which also serves the ground-truth and applied pokes)

Ground truth of synthetic clips (true motion, part map, kinematic tree) is not in the item: get it
with ``dataset.ground_truth(index)`` (or ``load_ground_truth(root, clip_id, resolution)``).

Randomness: the poke of item i in epoch e is a pure function of (seed, e, i) (``set_epoch``), so a
resumed run sees exactly the same samples; with ``train=False`` it depends on (seed, i) only.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ipoke_core.data.layout import (
    STEP_MOTION, DatasetError, clip_dir, flow_name, load_flow, load_frames, read_dataset_meta, read_info, read_split,
)
from ipoke_core.data.flow_targets import window_flow_target
from ipoke_core.data.sampling import (SampledPoke, flow_regions, impulse_poke, mask_regions, near_background_poke,
                                      sample_poke, window_motion)
from ipoke_core.data.window_truth import applied_poke, true_motion_field, true_part_map
from ipoke_core.poke import Poke, rasterize

POKE_SOURCES = ("flow", "ground_truth")
_EVAL_EPOCH = 2**31 - 1


class PokeDataset(Dataset):
    """Windows of prepared clips with sampled pokes (see module docstring for the item layout)."""

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        resolution: int = 64,
        seq_len: int = 10,
        frame_step: int = 1,
        background_fraction: float = 0.1,
        poke_mode: str = "shift",
        poke_radius: int = 2,
        poke_scale: float = 16.0,
        seed: int = 0,
        train: bool = True,
        poke_source: str = "flow",
        window_stride: int | None = None,
        flow_targets: bool = False,
        part_targets: bool = False,
        applied_fraction: float = 0.0,
        near_background_fraction: float = 0.0,
        near_background_px: int = 12,
    ) -> None:
        self.root = Path(root)
        self.meta = read_dataset_meta(self.root)
        if self.meta.get("complete") is False:
            raise DatasetError(f"{self.root}: the data set is incomplete (an interrupted run); run the same "
                               "`ipoke synth` / `ipoke prepare` command again to finish it")
        if seq_len < 1 or frame_step < 1:
            raise DatasetError(f"seq_len and frame_step must be >= 1, got {seq_len} and {frame_step}")
        if poke_mode not in ("shift", "impulse"):
            raise DatasetError(f"poke_mode must be 'shift' or 'impulse', got {poke_mode!r}")
        if poke_source not in POKE_SOURCES:
            raise DatasetError(f"poke_source must be one of {', '.join(POKE_SOURCES)}, got {poke_source!r}")
        self.has_gt = bool(self.meta.get("has_ground_truth"))
        if poke_source == "ground_truth" and not self.has_gt:
            raise DatasetError(f"{self.root} has no ground truth (real videos); use poke_source='flow'")
        if not 0.0 <= applied_fraction <= 1.0:
            raise DatasetError(f"applied_fraction must be in [0, 1], got {applied_fraction}")
        if applied_fraction > 0 and poke_source != "ground_truth":
            raise DatasetError("applied_fraction needs poke_source='ground_truth' (the point where the force "
                               "acted is known only on synthetic data)")
        self.applied_fraction = float(applied_fraction)
        if not 0.0 <= near_background_fraction <= 1.0 or near_background_px < 1:
            raise DatasetError(f"near_background_fraction must be in [0, 1] and near_background_px >= 1, got "
                               f"{near_background_fraction} and {near_background_px}")
        self.near_background_fraction, self.near_background_px = float(near_background_fraction), int(near_background_px)
        self.stored = int(self.meta["resolution"])
        if resolution > self.stored:
            raise DatasetError(f"{self.root} is stored at {self.stored}x{self.stored}; cannot serve {resolution}x"
                               f"{resolution} (prepare the data again with --size {resolution} or larger)")
        self.resolution, self.seq_len, self.frame_step = int(resolution), int(seq_len), int(frame_step)
        self.span = self.seq_len * self.frame_step
        self.background_fraction = float(background_fraction)
        self.poke_mode, self.poke_radius, self.poke_scale = poke_mode, int(poke_radius), float(poke_scale)
        self.seed, self.train, self.poke_source = int(seed), bool(train), poke_source
        self.flow_targets = bool(flow_targets)
        if part_targets and not (self.has_gt and self.meta.get("window_starts") == "first"):
            raise DatasetError(f"{self.root}: part targets need the simulator's part maps (synthetic data whose "
                               "windows start at frame 0)")
        self.part_targets = bool(part_targets)
        self.epoch = 0
        if poke_source == "flow" and self.span not in [int(s) for s in self.meta["flow_spans"]]:
            raise DatasetError(
                f"{self.root} caches flow for spans {self.meta['flow_spans']} frames, but seq_len {seq_len} x "
                f"frame_step {frame_step} = {self.span}; run `ipoke prepare --flow-only --out {self.root} "
                f"--span {self.span}` first"
            )
        self.split = split
        self.clip_ids = read_split(self.root, split)
        self.items, self.skipped = self._windows(window_stride)
        self.scale = self.resolution / self.stored
        stats = self.meta.get("poke_stats") or {}
        self.mean_poke_px = float(stats.get("mean_magnitude_px", 2.0)) * self.scale or 2.0
        self.impulse_reference = self._impulse_reference() if poke_mode == "impulse" else 0.0

    # -- index ------------------------------------------------------------------------------
    def _n_frames(self, cid: str) -> int:
        if self.meta.get("n_frames"):
            return int(self.meta["n_frames"])
        return int(read_info(self.root, cid)["n_frames"])

    def _windows(self, stride: int | None) -> tuple[list[tuple[str, int]], list[str]]:
        items: list[tuple[str, int]] = []
        skipped: list[str] = []
        first_only = self.meta["window_starts"] == "first"
        if stride is None:
            stride = 1 if self.train else self.span
        for cid in self.clip_ids:
            n = self._n_frames(cid)
            if n <= self.span:
                skipped.append(cid)
                continue
            if first_only:
                items.append((cid, 0))
            else:
                items.extend((cid, s) for s in range(0, n - self.span, max(1, stride)))
        if skipped:
            msg = (f"{self.root}: {len(skipped)} of {len(self.clip_ids)} {self.split} clips are too short for "
                   f"{self.seq_len} frames at step {self.frame_step} ({self.span + 1} frames needed); skipped")
            if not items:
                raise DatasetError(msg.replace("; skipped", "; nothing left to train on"))
            warnings.warn(msg, stacklevel=3)
        return items, skipped

    def _impulse_reference(self) -> float:
        """95th percentile of the window motion (Eq. 10) over the training windows: strength 1."""
        values = []
        first_only = self.meta["window_starts"] == "first"
        for cid in read_split(self.root, "train"):
            path = clip_dir(self.root, cid) / STEP_MOTION
            try:
                sm = np.load(path)
            except FileNotFoundError:
                raise DatasetError(f"{path} is missing (needed for impulse pokes)") from None
            starts = [0] if first_only else range(0, max(len(sm) + 1 - self.span, 0), self.span)
            values += [window_motion(sm, s, self.seq_len, self.frame_step) for s in starts]
        ref = float(np.percentile(values, 95)) if values else 0.0
        return ref if ref > 0 else 1.0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose pokes ``__getitem__`` returns (training mode)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def poke_magnitude_px(self) -> tuple[float, float]:
        """(mean, 95th percentile) foreground poke length in model pixels, from ``dataset.json``."""
        stats = self.meta.get("poke_stats") or {}
        return (float(stats.get("mean_magnitude_px", 0.0)) * self.scale,
                float(stats.get("p95_magnitude_px", 0.0)) * self.scale)

    # -- loading --------------------------------------------------------------------------------
    def _resize_uint8(self, frames: np.ndarray) -> np.ndarray:
        """``(N, R, R, 3) uint8`` -> ``(N, r, r, 3) uint8``, area-averaged per frame (the same pixels a
        data set stored at r would hold)."""
        r = self.resolution
        if r != self.stored:
            return np.stack([cv2.resize(f, (r, r), interpolation=cv2.INTER_AREA) for f in frames])
        return np.array(frames, copy=True)

    @staticmethod
    def _to_tensor(frames: np.ndarray) -> torch.Tensor:
        """``(N, r, r, 3) uint8`` -> ``(N, 3, r, r)`` float32 in [-1, 1]."""
        return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)

    def _resize_frames(self, frames: np.ndarray) -> torch.Tensor:
        """``(N, R, R, 3) uint8`` -> ``(N, 3, r, r)`` float32 in [-1, 1] (see ``_resize_uint8``)."""
        return self._to_tensor(self._resize_uint8(frames))

    def _resize_field(self, flow: np.ndarray) -> np.ndarray:
        """``(R, R, 2)`` displacement field -> ``(r, r, 2)`` float32 in model pixels."""
        flow = np.asarray(flow, np.float32)
        if self.resolution == self.stored:
            return flow
        small = cv2.resize(flow, (self.resolution, self.resolution), interpolation=cv2.INTER_AREA)
        return small * self.scale

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch if self.train else _EVAL_EPOCH, int(index)])

    def sample_poke(self, index: int) -> tuple[SampledPoke, np.ndarray]:
        """The poke of item ``index`` (model pixels) and the field it was sampled from ``(r, r, 2)``."""
        cid, start = self.items[index]
        rng = self._rng(index)
        parts = None
        if self.poke_source == "ground_truth":
            field, parts, force_point = true_motion_field(self.root, cid, self.resolution, self.span)
            regions = mask_regions(field, parts >= 0, margin=self.poke_radius + 1)
        else:
            row = 0 if self.meta["window_starts"] == "first" else start
            flow = load_flow(self.root, cid, self.span, self.stored)
            if row >= flow.shape[0]:
                raise DatasetError(f"{clip_dir(self.root, cid)}: flow cache has {flow.shape[0]} windows, "
                                   f"window {row} asked; delete the cache and prepare again")
            field = self._resize_field(flow[row])
            if not np.isfinite(field).all():  # NaN flow would train on NaN targets and finish "fine"
                raise DatasetError(f"{clip_dir(self.root, cid) / flow_name(self.span)}: the flow cache holds NaN or "
                                   f"infinite values; delete it and run `ipoke prepare --flow-only --out {self.root} "
                                   f"--span {self.span}`")
            regions = flow_regions(field)
        poke = sample_poke(field, rng, self.background_fraction, regions, still_magnitude=self.mean_poke_px)
        # both options draw after sample_poke, and only when on, so that off they keep every earlier run's pokes
        if poke.is_background and self.near_background_fraction > 0 and rng.random() < self.near_background_fraction:
            poke = near_background_poke(poke, regions, rng, self.near_background_px)
        if parts is not None and self.applied_fraction > 0 and not poke.is_background \
                and rng.random() < self.applied_fraction:
            poke = applied_poke(field, parts, force_point, self.poke_radius, rng) or poke
        if self.poke_mode == "impulse":
            sm = np.load(clip_dir(self.root, cid) / STEP_MOTION)
            poke = impulse_poke(poke, window_motion(sm, start, self.seq_len, self.frame_step),
                                self.impulse_reference, self.poke_scale)
        return poke, field

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.items):
            raise IndexError(index)
        cid, start = self.items[index]
        poke, _ = self.sample_poke(index)
        frames = load_frames(self.root, cid)
        if frames.shape[1] != self.stored or frames.shape[2] != self.stored:
            raise DatasetError(f"{clip_dir(self.root, cid)}: frames are {frames.shape[2]}x{frames.shape[1]}, "
                               f"dataset.json says {self.stored}")
        r = self.resolution
        flow = None
        if poke.is_background:
            video = self._resize_frames(frames[start:start + 1])
            source = video[0]
            target = source.unsqueeze(0).expand(self.seq_len, -1, -1, -1).contiguous()
            if self.flow_targets:
                flow = torch.zeros(self.seq_len, 2, r, r)
        else:
            window = self._resize_uint8(frames[start:start + self.span + 1:self.frame_step])
            video = self._to_tensor(window)
            source, target = video[0], video[1:]
            if self.flow_targets:
                flow = window_flow_target(self.root, cid, start, r, self.seq_len, self.frame_step, window,
                                          exact=self.has_gt)
        p = Poke(float(poke.x), float(poke.y), float(poke.dx), float(poke.dy))
        extra = {} if flow is None else {"flow": flow}
        if self.part_targets:
            extra["parts"] = true_part_map(self.root, cid, r)
        return {
            **extra,
            "source": source,
            "frames": target,
            "poke_map": rasterize([p], self.resolution, self.poke_radius, self.poke_mode, self.poke_scale),
            "poke": torch.tensor([p.x, p.y, p.dx, p.dy], dtype=torch.float32),
            "is_background": torch.tensor(poke.is_background),
            "has_gt": torch.tensor(self.has_gt),
            "index": int(index),
            "clip_id": cid,
            "start": int(start),
        }

    def ground_truth(self, index: int) -> dict[str, Any]:
        """Ground truth of item ``index`` at model resolution (synthetic data only).

        Like ``load_ground_truth`` but ``motion`` is ``(T, r, r, 2)``: the true displacement of
        every source pixel at each of the item's T target frames.
        """
        from ipoke_core.data.ground_truth import load_ground_truth

        if not self.has_gt:
            raise DatasetError(f"{self.root} has no ground truth (real videos)")
        cid, start = self.items[index]
        gt = load_ground_truth(self.root, cid, self.resolution)
        gt["motion"] = gt["motion"][start + self.frame_step:start + self.span + 1:self.frame_step]
        return gt
