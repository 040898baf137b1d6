"""Saving a run: resumable states in ``state/`` and inference checkpoints ``checkpoints/{last,best}``
with their sidecar, which records how the weights were trained (rank 0 only)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipoke_core.config import Config
from ipoke_core.train.engine import Engine
from ipoke_core.train.state import save_state


@dataclass
class Checkpointer:
    """Knows the run well enough to describe its weights in each checkpoint's sidecar."""

    run_dir: Path
    cfg: Config
    command: str  # this session's command line
    data_dir: Path
    data_meta: dict[str, Any]  # the data set's dataset.json
    run_info: dict[str, Any]  # run.json as written (sessions, device, init_from); shared, so later entries show
    total: int
    stage1_iters: int
    world_size: int
    perceptual: str
    validation_metric: str
    poke_range: list[float]
    last: Path | None = None  # checkpoints/last.safetensors once this session saved it

    def meta(self, step: int, validation: dict[str, float], wall_s: float) -> dict[str, Any]:
        """The sidecar of the weights after ``step`` iterations."""
        stage2_done = max(0, step - self.stage1_iters)
        return {
            "trained": stage2_done > 0,
            "training": {
                # the command that started the run, then the ones that resumed it
                "command": (self.run_info.get("sessions") or [self.command])[0],
                "resumed_with": (self.run_info.get("sessions") or [])[1:],
                "init_from": self.run_info.get("init_from"),  # the checkpoint a fine-tuning run started from
                "config": self.cfg.to_dict(),
                "data_dir": str(self.data_dir),
                "data_seed": self.data_meta.get("seed"),
                "data_command": self.data_meta.get("source"),  # e.g. the ipoke synth line that made it
                "steps": step,
                "total_steps": self.total,
                "stage2_steps_done": stage2_done,
                "schedule": self.cfg.train.schedule,
                "wall_time_s": round(wall_s, 1),
                "device": self.run_info["device"],
                "world_size": self.world_size,
                "perceptual_loss": self.perceptual,
                "validation_metric": self.validation_metric,
                "validation": validation,
            },
            "data_stats": {"poke_magnitude_px": self.poke_range},
        }

    def save(self, engine: Engine, step: int, resumable: dict[str, Any], validation: dict[str, float],
             wall_s: float) -> Path:
        """The resumable state of ``step`` (engine state + ``resumable``) and ``checkpoints/last``;
        returns the state file."""
        from ipoke_core.checkpoint import save_checkpoint

        state = engine.state_dict()
        state.update(resumable)
        path = save_state(self.run_dir, step, state, self.cfg.train.keep_last)
        self.last = save_checkpoint(self.run_dir / "checkpoints" / "last", engine.eval_model,
                                    self.meta(step, validation, wall_s))
        return path

    def save_best(self, engine: Engine, step: int, validation: dict[str, float], wall_s: float) -> None:
        """``checkpoints/best``: the weights of the best validation so far."""
        from ipoke_core.checkpoint import save_checkpoint

        save_checkpoint(self.run_dir / "checkpoints" / "best", engine.eval_model, self.meta(step, validation, wall_s))
