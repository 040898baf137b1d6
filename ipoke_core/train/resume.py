"""What a run carries from one session to the next besides its weights, and how a session picks it up.

A resumable state (``state.save_state``) holds the engine's state dicts plus what :func:`resumable_state`
adds: the iteration and data position, the RNG states, the best validation so far, the training wall
time and the last validation. :func:`restore` puts all of it back, so that a resumed run continues as
the uninterrupted one would have (the same batches, the same random draws).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ipoke_core.train.engine import Engine
from ipoke_core.train.state import capture_rng, restore_rng


@dataclass
class RunProgress:
    """The best validation, the last validation and the training time, across sessions."""

    best: dict[str, Any]  # {"value", "step", "metric"}: what checkpoints/best holds
    last_validation: dict[str, float] = field(default_factory=dict)
    wall_before: float = 0.0  # training seconds of earlier sessions of this run
    session_start: float = field(default_factory=time.time)

    def wall(self) -> float:
        """Training seconds of the whole run so far."""
        return self.wall_before + (time.time() - self.session_start)

    def session_minutes(self) -> float:
        return (time.time() - self.session_start) / 60


def resumable_state(step: int, batches_per_epoch: int, world_size: int, progress: RunProgress) -> dict[str, Any]:
    """The fields a state adds to the engine's state dicts after ``step`` iterations."""
    return {
        "iteration": step,
        "epoch": step // batches_per_epoch,
        "batch_in_epoch": step % batches_per_epoch,
        "world_size": world_size,
        "rng": capture_rng(),
        "best": dict(progress.best),
        "wall_time_s": progress.wall(),
        "last_validation": dict(progress.last_validation),
    }


def restore(state: dict[str, Any], engine: Engine, progress: RunProgress, main: bool) -> int:
    """Load weights, optimisers, best, last validation and wall time from ``state``, and on rank 0 the RNG
    states (rank 0 saved them: they are its own). Returns the iteration to continue at."""
    engine.load_state_dict(state)
    progress.wall_before = float(state.get("wall_time_s", 0.0))
    progress.best = dict(state.get("best", progress.best))
    progress.last_validation = dict(state.get("last_validation", {}))
    if main:
        restore_rng(state["rng"])
    return int(state["iteration"])
