"""``run.json``: how the run was made (command lines of every session, data set, weights files, device,
loss choices), written by rank 0 when a session starts."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ipoke_core.io_utils import atomic_write_text
from ipoke_core.train.options import TrainOptions


def device_name(dev: torch.device) -> str:
    """``cuda (<GPU name>)`` or ``cpu (<processor>, <N> threads)``: what run.json and checkpoints record."""
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def write_run_info(path: Path, info: dict[str, Any], command: str) -> dict[str, Any]:
    """Write ``info`` (this session's record, ``command`` its command line) to ``path`` atomically and
    return what was written: a resumed run keeps its earlier sessions, first start and ``init_from``."""
    if path.exists():  # keep the history of sessions of a resumed run
        try:
            old = json.loads(path.read_text())
            info["sessions"] = old.get("sessions", [old.get("command", "")]) + [command]
            info["first_started"] = old.get("first_started", old.get("started"))
            if "init_from" in old:
                info["init_from"] = old["init_from"]
        except (OSError, ValueError):
            pass
    save_run_info(path, info)
    return info


def save_run_info(path: Path, info: dict[str, Any]) -> None:
    """(Re)write run.json atomically: a reader never sees half a file."""
    atomic_write_text(path, json.dumps(info, indent=2))


def session_info(opts: TrainOptions, *, data_meta: dict[str, Any], train_clips: int, validation_split: str,
                 perceptual: str, validation_metric: str, device: torch.device, world_size: int,
                 amp_dtype: torch.dtype | None, channels_last: bool) -> dict[str, Any]:
    """This session's record for run.json."""
    return {
        "command": opts.command,
        "data_dir": str(opts.data_dir.resolve()),
        "data_seed": data_meta.get("seed"),
        "data_generator": data_meta.get("generator", data_meta.get("kind")),
        "train_clips": train_clips,
        "validation_split": validation_split,
        "vgg_weights": str(opts.vgg_weights.resolve()) if opts.vgg_weights else None,
        "lpips_weights": str(opts.lpips_weights.resolve()) if opts.lpips_weights else None,
        "perceptual_loss": perceptual,
        "validation_metric": validation_metric,
        "device": device_name(device),
        "world_size": world_size,
        "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else "off",
        "channels_last": channels_last,
        "compile": bool(opts.config.train.compile),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
