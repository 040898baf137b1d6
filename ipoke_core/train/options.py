"""What ``ipoke train`` asks of a run and what it answers: the options, the result, the error it raises."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ipoke_core.config import Config
from ipoke_core.errors import UserError


class TrainingError(UserError):
    """Training cannot start or continue (bad data folder, run folder in use, diverged loss)."""


@dataclass
class TrainOptions:
    """Everything ``ipoke train`` decides before the loop starts."""

    config: Config
    data_dir: Path
    run_dir: Path
    resume: bool = False
    vgg_weights: Path | None = None
    lpips_weights: Path | None = None  # LPIPS linear heads (needs a VGG16 --vgg-weights) for validation
    device: str = "auto"
    until_step: int | None = None  # stop (saving a resumable state) after this step
    max_minutes: float | None = None  # stop (saving) after this much wall time in this session
    command: str = ""
    progress: bool = True
    init_from: Path | None = None  # a checkpoint whose generator weights a new run starts from (fine-tuning)


@dataclass
class TrainResult:
    status: str  # "finished" | "stopped" | "interrupted"
    step: int
    total_steps: int
    run_dir: Path
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None
    validation: dict[str, float] = field(default_factory=dict)


def schedule_lengths(cfg: Config) -> tuple[int, int]:
    """``(autoencoder-only iterations at the start, total iterations)`` of the schedule."""
    tc = cfg.train
    if tc.schedule == "single_stage":
        return 0, tc.stage2_steps
    return tc.stage1_steps, tc.stage1_steps + tc.stage2_steps
