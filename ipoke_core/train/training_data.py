"""The training data of a run: the data set, its metadata, an endless resumable batch stream, poke statistics."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from ipoke_core.config import Config
from ipoke_core.train import distributed
from ipoke_core.train.options import TrainingError

if TYPE_CHECKING:
    from ipoke_core.data import PokeDataset


def open_dataset(data_dir: Path, cfg: Config, split: str, train: bool) -> PokeDataset:
    """The data package's PokeDataset for this config (poke sampling as in Sec. 3.2 / App. E.2)."""
    from ipoke_core.data import PokeDataset, read_dataset_meta

    source = cfg.data.poke_source
    if source == "auto":
        source = "ground_truth" if read_dataset_meta(data_dir).get("has_ground_truth") else "flow"
    return PokeDataset(
        data_dir, split=split, resolution=cfg.model.resolution, seq_len=cfg.model.seq_len,
        frame_step=cfg.data.frame_step, background_fraction=cfg.data.background_fraction,
        poke_mode=cfg.model.poke_mode, poke_radius=cfg.model.poke_radius, poke_scale=cfg.model.poke_scale,
        seed=cfg.train.seed, train=train, flow_targets=cfg.model.decoder == "warp", poke_source=source,
        part_targets=needs_part_maps(cfg),
        # real videos carry no force point: the option is a no-op there, so one config trains on both
        applied_fraction=cfg.data.applied_fraction if source == "ground_truth" else 0.0,
        near_background_fraction=cfg.data.near_background_fraction, near_background_px=cfg.data.near_background_px,
    )


def needs_part_maps(cfg: Config) -> bool:
    """Whether a loss of ``cfg`` reads the true part maps (the part-label, rigidity and object-mask losses)."""
    return cfg.train.w_part_labels > 0 or cfg.train.w_rigid > 0 or cfg.model.object_mask


def dataset_info(data_dir: Path) -> dict[str, Any]:
    """The data set's ``dataset.json`` (seed, generator, poke statistics), or {} if unreadable."""
    try:
        from ipoke_core.data import read_dataset_meta

        meta = read_dataset_meta(data_dir)
        return dict(meta) if isinstance(meta, dict) else dict(vars(meta))
    except Exception:  # noqa: BLE001 - the metadata is informative only; PokeDataset validates the folder
        try:
            return json.loads((data_dir / "dataset.json").read_text())
        except (OSError, ValueError):
            return {}


def open_training_set(data_dir: Path, cfg: Config) -> tuple[dict[str, Any], PokeDataset]:
    """``(dataset.json, training split)`` of ``data_dir``; a missing data set or empty split is a TrainingError."""
    if not (data_dir / "dataset.json").is_file():
        raise TrainingError(
            f"no data set at {data_dir} (expected {data_dir}/dataset.json); "
            "make one with `ipoke synth` or `ipoke prepare`"
        )
    meta = dataset_info(data_dir)
    if needs_part_maps(cfg) and not (meta.get("has_ground_truth") and meta.get("window_starts") == "first"):
        # the part maps come from the simulator (frame 0 of each clip): refused here, before the run folder
        if cfg.model.object_mask:
            raise TrainingError(f"{data_dir}: model.object_mask learns what can move from the true part maps of "
                                "synthetic data (`ipoke synth`); this data set has none (a mask learnt from "
                                "real video's motion alone is not built yet). Train without --set "
                                "model.object_mask=true")
        asks = [f"train.{n}" for n in ("w_part_labels", "w_rigid") if getattr(cfg.train, n) > 0]
        raise TrainingError(f"{data_dir}: {' and '.join(asks)} need{'s' if len(asks) == 1 else ''} the true part "
                            "maps of synthetic data (`ipoke synth`); this data set has none. "
                            + ("Train its masks with train.w_grouping and " if cfg.train.w_part_labels > 0 else "")
                            + " ".join(f"--set {a}=0" for a in asks))
    if cfg.train.w_part_labels > 0 and not cfg.model.part_masks:
        raise TrainingError("train.w_part_labels teaches the part masks: set model.part_masks=K too")
    train_set = open_dataset(data_dir, cfg, "train", train=True)
    if len(train_set) == 0:
        raise TrainingError(f"{data_dir}: the training split is empty")
    return meta, train_set


def poke_magnitude_range(data_dir: Path, cfg: Config) -> list[float]:
    """Typical foreground poke lengths in model pixels: 5th-95th percentile over (up to 256) training
    clips' evaluation pokes, which the GUI and heatmaps use as their default range. (64 clips, as
    before 2026-11-26, put the 95th percentile of one plant data set anywhere from 4.2 to 9.7 px.)"""
    probe = open_dataset(data_dir, cfg, "train", train=False)
    n = len(probe)
    mags = []
    for i in np.linspace(0, n - 1, min(n, 256)).round().astype(int).tolist():
        item = probe[i]
        if not bool(item["is_background"]):
            mags.append(float(torch.as_tensor(item["poke"])[2:].norm()))
    if not mags:
        return [1.0, float(cfg.model.poke_scale)]
    return [round(float(np.percentile(mags, 5)), 3), round(float(np.percentile(mags, 95)), 3)]


class BatchStream:
    """Endless batches with a resumable position: epoch e uses DistributedSampler order (seed, e),
    so iteration i always gets the same batch, before and after a resume."""

    def __init__(self, dataset: PokeDataset, batch_size: int, dist: distributed.DistInfo, seed: int, workers: int,
                 pin: bool):
        self.dataset = dataset
        self.batch_size = batch_size
        self.dist = dist
        self.seed = seed
        self.workers = workers
        self.pin = pin
        per_rank = math.ceil(len(dataset) / dist.world_size)
        self.batches_per_epoch = per_rank // batch_size
        if self.batches_per_epoch < 1:
            raise TrainingError(
                f"the training split has {len(dataset)} clips, fewer than batch_size {batch_size} x "
                f"{dist.world_size} process(es); lower train.batch_size or add data"
            )
        self._it = None
        self.epoch = 0

    def start(self, iteration: int) -> None:
        """Position the stream so that the next batch is the one of ``iteration`` (0-based)."""
        self.epoch, within = divmod(iteration, self.batches_per_epoch)
        self._open(within)

    def _open(self, skip_batches: int) -> None:
        sampler = DistributedSampler(
            self.dataset, num_replicas=self.dist.world_size, rank=self.dist.rank, shuffle=True, seed=self.seed
        )
        sampler.set_epoch(self.epoch)
        indices = list(sampler)[skip_batches * self.batch_size :]
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.epoch)
        loader = DataLoader(
            self.dataset, batch_size=self.batch_size, sampler=indices, num_workers=self.workers,
            pin_memory=self.pin, drop_last=True, persistent_workers=False,
        )
        self._it = iter(loader)

    def next(self) -> dict:
        """The next batch: the dataset's items stacked (``source`` ``(B, 3, R, R)``, ``frames`` ``(B, T, 3, R, R)``,
        ``poke`` ``(B, 4)``...); a new epoch starts when one ends."""
        try:
            return next(self._it)
        except StopIteration:
            self.epoch += 1
            self._open(0)
            return next(self._it)
