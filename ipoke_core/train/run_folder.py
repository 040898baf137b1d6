"""The run folder: refuse to start over an existing run, create its subfolders, find the state to resume.

Layout (see ``trainer``): ``config.toml``, ``run.json``, ``train.log``, ``metrics.csv``, ``samples/``,
``state/`` (resumable states) and ``checkpoints/`` (inference checkpoints).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ipoke_core.io_utils import ensure_writable_dir
from ipoke_core.train import distributed
from ipoke_core.train.options import TrainingError
from ipoke_core.train.state import list_states, load_latest_state

SUBFOLDERS = ("samples", "state", "checkpoints")


def prepare_run_folder(run_dir: Path, resume: bool, dist: distributed.DistInfo) -> tuple[dict[str, Any], Path | None]:
    """Check/create the run folder; ``(saved state, its file)`` when resuming, else ``({}, None)``.

    A new run never writes into a folder that holds one (its states or ``config.toml``): that would
    mix two runs' checkpoints and logs.
    """
    states = list_states(run_dir)
    if not resume and (states or (run_dir / "config.toml").exists()):
        raise TrainingError(
            f"{run_dir} already holds a training run; pass --resume to continue it or choose another --out"
        )
    if dist.is_main:
        ensure_writable_dir(run_dir)
        for sub in SUBFOLDERS:
            ensure_writable_dir(run_dir / sub)
    distributed.barrier(dist)  # the folders exist before any rank reads them
    if resume:
        return load_latest_state(run_dir)
    return {}, None
