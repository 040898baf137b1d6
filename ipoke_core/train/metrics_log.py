"""``metrics.csv``: one row of mean losses every ``log_every`` steps and one of validation every ``val_every``."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import torch

from ipoke_core.io_utils import atomic_write_text
from ipoke_core.train import distributed
from ipoke_core.train.state import logged_at_or_before

METRIC_COLUMNS = [
    "step", "stage", "epoch", "wall_s", "samples_per_s",
    "ae_perc", "ae_l1", "ae_grad_norm",
    "loss", "perc", "latent", "g_spatial", "g_temporal", "fm", "grad_norm",
    "d_spatial", "d_temporal", "gp", "d_grad_norm",
    "val_metric", "val_l1", "val_psnr", "val_ssim", "val_ae_l1", "val_bg_motion",
    "flow", "val_flow", "rigid", "grouping", "part_labels", "object",
]


class MetricsLog:
    """The run's ``metrics.csv`` (rank 0 writes it)."""

    def __init__(self, path: Path):
        self.path = path

    def start(self, resumed_step: int | None) -> None:
        """Create the file, or keep only the rows logged at or before the resumed state (a killed run may
        have logged rows after its last save: the resumed run logs those steps again)."""
        rows = []
        if resumed_step is not None and self.path.exists():
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if logged_at_or_before(r, resumed_step)]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, buf.getvalue())

    def append(self, row: dict[str, Any]) -> None:
        """One row; floats with 6 significant digits, missing columns empty."""
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, METRIC_COLUMNS, extrasaction="ignore").writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


class LossMeter:
    """Sums the step losses between two log rows; ``take`` returns their means (averaged over ranks)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps = 0
        self.t0 = time.time()

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        """One step's losses, each a scalar tensor (kept on the device: no sync per step)."""
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + v.detach().float()
        self.steps += 1

    def take(self, dist: distributed.DistInfo) -> tuple[dict[str, float], int, float]:
        """``(mean losses, steps, seconds)`` since the last call; then starts over."""
        values: dict[str, float] = {}
        if self.sums:
            keys = sorted(self.sums)
            vec = distributed.all_reduce_mean(torch.stack([self.sums[k] / self.steps for k in keys]), dist)
            values = dict(zip(keys, vec.tolist()))
        out = (values, self.steps, time.time() - self.t0)
        self._reset()
        return out
