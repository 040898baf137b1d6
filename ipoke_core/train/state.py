"""Resumable run state: everything needed to continue a run exactly after a crash or kill -9.

A state file ``RUN_DIR/state/step_XXXXXXXX.pt`` holds model, discriminator, optimizer and
grad-scaler state dicts, the step counter, the data position, the RNG states and the best
validation score. It is written with ``torch.save`` to a temporary file and renamed (atomic), and
read with ``torch.load(weights_only=True)``: only tensors and plain containers, never arbitrary
pickled objects. The newest ``keep`` files are kept.
"""
from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ipoke_core.errors import UserError
from ipoke_core.io_utils import atomic_path

STATE_FORMAT = 1
_NAME = re.compile(r"^step_(\d{8})\.pt$")
# what ``atomic_path`` leaves behind when the process is killed mid-write: ``.NAME.RANDOM.tmp.EXT``
_TEMPORARY = re.compile(r"^\..+\.tmp\.(pt|safetensors|json)$")


class ResumeError(UserError):
    """A run cannot be resumed (no state, unreadable state, different config)."""


def state_dir(run_dir: Path) -> Path:
    return run_dir / "state"


def state_path(run_dir: Path, step: int) -> Path:
    return state_dir(run_dir) / f"step_{step:08d}.pt"


def list_states(run_dir: Path) -> list[tuple[int, Path]]:
    """All state files of a run, oldest first."""
    folder = state_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def remove_stale_temporaries(run_dir: Path, checkpoints: bool = True) -> list[Path]:
    """Delete the half-written temporaries a kill -9 during a save left in ``state/`` (and ``checkpoints/``).

    Only files named like ``atomic_path``'s temporaries are touched. ``state/`` has one writer, the
    run itself; ``checkpoints/`` is also written by ``ipoke eval --record``, so it is only cleaned
    when a run (re)starts, not on every save. Returns the files removed.
    """
    removed = []
    for folder in (state_dir(run_dir), run_dir / "checkpoints") if checkpoints else (state_dir(run_dir),):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if _TEMPORARY.match(p.name) and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def logged_at_or_before(row: dict[str, Any], step: int) -> bool:
    """Whether a ``metrics.csv`` row was logged at or before ``step``; a row without a readable step
    (a torn last line, a hand edit) is dropped rather than blocking the resume."""
    try:
        return float(row.get("step") or "nan") <= step  # NaN compares False
    except (TypeError, ValueError):
        return False


def capture_rng() -> dict[str, Any]:
    """Python, NumPy and torch (CPU + CUDA) RNG states, as tensors and plain values."""
    np_state = np.random.get_state()
    rng: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def restore_rng(rng: dict[str, Any]) -> None:
    random.setstate(_as_tuple(rng["python"]))
    n = rng["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])


def _as_tuple(x: Any) -> Any:
    # random.setstate wants tuples all the way down; torch.load may hand back lists
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_state(run_dir: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write ``state`` atomically as the state of ``step``; delete all but the newest ``keep``."""
    path = state_path(run_dir, step)
    payload = {"format": STATE_FORMAT, "step": step, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    for _, old in list_states(run_dir)[: -max(keep, 1)]:
        old.unlink(missing_ok=True)
    remove_stale_temporaries(run_dir, checkpoints=False)  # e.g. a new run in a folder a killed one left
    return path


def load_latest_state(run_dir: Path) -> tuple[dict[str, Any], Path]:
    """The newest readable state of ``run_dir`` (a torn newest file falls back to the one before)."""
    remove_stale_temporaries(run_dir)
    states = list_states(run_dir)
    if not states:
        raise ResumeError(f"--resume: {run_dir} holds no saved state (looked for {state_dir(run_dir)}/step_*.pt)")
    errors = []
    for _, path in reversed(states):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - an unreadable file: try the previous one
            errors.append(f"{path.name}: {type(e).__name__}")
            continue
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            errors.append(f"{path.name}: not a format-{STATE_FORMAT} state")
            continue
        return state, path
    raise ResumeError(f"--resume: no readable state in {state_dir(run_dir)} ({'; '.join(errors)})")
