"""``--init-from``: a new run that starts from another checkpoint's generator weights (fine-tuning).

The checkpoint is read and checked before the run folder is written (a wrong checkpoint leaves
nothing behind); the run records where it started, with how the parent was made, so that its
sidecar alone reproduces the whole chain.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ipoke_core.config import ADDED_MODULES, FINE_TUNABLE, Config
from ipoke_core.train.options import TrainingError

# what a fine-tuning run copies from its parent's training record (``init_from`` nests the chain)
PARENT_RECORD = ("command", "resumed_with", "data_command", "wall_time_s", "device", "init_from")


def load_init_checkpoint(path: Path, cfg: Config) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(generator state dict, sidecar)`` of the checkpoint at ``path``; a TrainingError when its
    architecture differs from ``cfg.model`` (``FINE_TUNABLE`` settings and modules the parent lacks aside)."""
    from ipoke_core.checkpoint import load_checkpoint

    model, meta = load_checkpoint(path)
    mine, theirs = asdict(cfg.model), asdict(model.cfg)
    differ = [k for k in sorted(set(mine) | set(theirs)) if k not in FINE_TUNABLE and mine.get(k) != theirs.get(k)
              and not (k in ADDED_MODULES and not theirs.get(k))]
    if differ:
        diff = ", ".join(f"model.{k}: {theirs.get(k)!r} there, {mine.get(k)!r} here" for k in differ)
        raise TrainingError(f"--init-from {path}: its architecture differs from the config's ({diff})")
    return model.state_dict(), meta


def parent_training(meta: dict[str, Any]) -> dict[str, Any]:
    """The parent checkpoint's training record ({} when it has none)."""
    return meta.get("training") if isinstance(meta.get("training"), dict) else {}


def init_from_record(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """run.json's ``init_from`` entry: the parent checkpoint, its steps and how it was made."""
    from ipoke_core.quality import trained_steps

    training = parent_training(meta)
    total, _ = trained_steps(meta)
    # as given on the command line, like the data folder: a sidecar shipped with the code must not name
    # the folder of the machine that trained it
    record = {"checkpoint": str(path), "steps": training.get("steps"),
              "total_steps": total, "weights_sha256": meta.get("weights_sha256"),
              **{k: training[k] for k in PARENT_RECORD if k in training}}
    if isinstance(meta.get("derived"), dict):  # the parent's settings changed by `ipoke derive` (its dead zone)
        record["derived"] = meta["derived"]
    return record
