"""``ipoke bench --learn``: how fast does a preset learn to move the poked part?

Trains a preset on a data set in chunks of ``every`` wall-clock minutes (one resumable run), and
after each chunk scores its newest checkpoint on a held-out test set (ideally of another seed)
against the static and flow-warp baselines and the ground-truth floor: poke accuracy, motion
error, PSNR and structure AUC. The headline is "minutes to beat flow-warp on motion error", the
number that model and training changes should push down. Evaluation time is not training time:
the clock is the run's own training clock (each chunk's start-up excluded).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from ipoke_core.errors import UserError

KEYS = ("poke_accuracy_px", "motion_error_px", "psnr", "structure_auc")
HEADER = "| train min | step | poke acc. (px) ↓ | motion err. (px) ↓ | PSNR ↑ | structure (AUC) ↑ |\n|---:|---:|---:|---:|---:|---:|"


@dataclass
class LearnPoint:
    minutes: float
    step: int
    values: dict[str, float | None]

    def row(self, label: str | None = None) -> str:
        def fmt(key: str, spec: str) -> str:
            v = self.values.get(key)
            return "n/a" if v is None else spec.format(v)

        head = label if label is not None else f"{self.minutes:.1f} | {self.step}"
        return (f"| {head} | {fmt('poke_accuracy_px', '{:.2f}')} | {fmt('motion_error_px', '{:.2f}')} | "
                f"{fmt('psnr', '{:.2f}')} | {fmt('structure_auc', '{:.3f}')} |")


def learning_benchmark(config: str, train_data: Path, test_data: Path, out: Path, minutes: float, every: float,
                       n_clips: int = 60, structure_clips: int = 8, overrides: list[str] | None = None,
                       device: str = "cpu", echo=print) -> dict:
    """Train ``config`` for ``minutes`` in chunks of ``every``; score after each chunk (module doc).

    Returns ``{"points": [LearnPoint], "baselines": {name: values}, "beat_flow_warp_min": float | None}``.
    """
    from ipoke_core.config import apply_overrides, config_from_dict, load_config
    from ipoke_core.evaluate import (
        EvalSettings, evaluate, flow_warp_method, load_eval_clips, model_method, static_method,
    )
    from ipoke_core.inference import Poker
    from ipoke_core.train.trainer import TrainOptions, train

    if not (minutes > 0 and every > 0):
        raise UserError(f"--minutes and --every must be > 0, got {minutes} and {every}")
    cfg = config_from_dict(apply_overrides(load_config(config).to_dict(), overrides or []))
    clips, info = load_eval_clips(test_data, cfg.model, n_clips, seed=0)
    settings = EvalSettings(structure_clips=structure_clips, heatmap_n=16)
    base = evaluate([static_method(cfg.model.seq_len), flow_warp_method(cfg.model.seq_len)], clips, settings)
    baselines = {row["method"]: {k: row.get(k) for k in KEYS} for row in base.rows}
    echo(f"learning benchmark: {cfg.name} on {train_data}, scored on {test_data} ({info})")
    echo(HEADER)
    for name, values in baselines.items():
        echo(LearnPoint(0, 0, values).row(f"{name} | –"))
    flow_warp = next(v for k, v in baselines.items() if k.startswith("flow warping"))
    points: list[LearnPoint] = []
    trained_s, beat = 0.0, None
    # the chunks are planned, not measured: --minutes 30 --every 5 scores six times on any machine (a
    # busy one trains fewer steps in each; a chunk whose first step overruns its time ends after that step)
    n_chunks = max(1, math.ceil(minutes / every - 1e-9))
    for done in range(n_chunks):
        chunk = min(every, minutes - done * every)
        t0 = time.perf_counter()
        result = train(TrainOptions(cfg, train_data, out, resume=bool(points), device=device, max_minutes=chunk,
                                    command="ipoke bench --learn", progress=False))
        poker = Poker.from_checkpoint(out / "checkpoints" / "last", device)
        # the run's own training clock (start-up and data loading of each chunk excluded), so that a busy
        # machine gives fewer steps per chunk, not fewer chunks
        wall = (poker.meta.get("training") or {}).get("wall_time_s")
        trained_s = float(wall) if isinstance(wall, (int, float)) else trained_s + time.perf_counter() - t0
        settings.magnitude_range = poker.magnitude_range()
        report = evaluate([model_method("model", poker)], clips, settings)
        point = LearnPoint(trained_s / 60, result.step, {k: report.rows[0].get(k) for k in KEYS})
        points.append(point)
        echo(point.row())
        err, ref = point.values.get("motion_error_px"), flow_warp.get("motion_error_px")
        if beat is None and err is not None and ref is not None and err < ref:
            beat = point.minutes
        if result.status == "finished":
            break
    echo(f"minutes to beat flow-warp on motion error: {'not reached' if beat is None else f'{beat:.1f}'}")
    return {"points": points, "baselines": baselines, "beat_flow_warp_min": beat}
