"""The evaluation table: its columns, :class:`EvalReport` (markdown and CSV) and writing ``eval.md`` / ``eval.csv``.

A metric that cannot be computed is reported as unavailable with its reason, never as 0.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = [  # key, header (its arrow: higher or lower is better), format
    ("lpips", "LPIPS ↓", "{:.3f}"),
    ("psnr", "PSNR ↑", "{:.2f}"),
    ("ssim", "SSIM ↑", "{:.3f}"),
    ("fvd", "FVD ↓", "{:.1f}"),
    ("poke_accuracy_px", "poke acc. (px) ↓", "{:.2f}"),
    ("motion_error_px", "motion err. (px) ↓", "{:.2f}"),
    ("sharpness_pct", "sharpness (%) ↑", "{:.0f}"),
    ("background_motion", "bg poke motion ↓", "{:.2f}"),
    ("structure_auc", "structure (AUC) ↑", "{:.3f}"),
    ("structure_ring_auc", "structure, same distance (AUC) ↑", "{:.3f}"),
    ("truth_corr", "truth corr. ↑", "{:.3f}"),
    ("truth_diff", "truth diff. ↓", "{:.3f}"),
    ("response_ring_auc", "response, same distance (AUC) ↑", "{:.3f}"),
    ("drag_px", "drag (px) ↓", "{:.2f}"),
    ("rigidity_px", "rigidity (px) ↓", "{:.3f}"),
]


def mean_of_finite(values: Sequence[float | None]) -> float | None:
    """A cell's value: the mean of the finite scores; None (shown ``n/a``) when there is none."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


@dataclass
class EvalReport:
    rows: list[dict[str, Any]]
    notes: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    # per kept clip: {"clip": EvalClip, "names": [...], "paper"/"response": maps (None: undefined),
    # "paper_auc"/"response_auc": their structure AUCs}; the simulator first
    maps: list[dict[str, Any]] = field(default_factory=list)

    def value(self, method: str, key: str) -> float | None:
        for row in self.rows:
            if row["method"] == method:
                return row.get(key)
        raise KeyError(method)

    def to_markdown(self) -> str:
        head = "| method | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
        sep = "|---|" + "---:|" * len(COLUMNS)
        lines = [head, sep]
        for row in self.rows:
            cells = []
            for key, _, fmt in COLUMNS:
                v = row.get(key)
                cells.append("—" if key in row.get("skip", ()) else ("n/a" if v is None or not math.isfinite(v) else fmt.format(v)))
            lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
        info = ", ".join(f"{k}: {v}" for k, v in self.info.items())
        out = "\n".join(lines) + "\n"
        if info:
            out = f"{info}\n\n" + out
        if self.notes:
            out += "\n" + "\n".join(f"- {n}" for n in self.notes) + "\n"
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["method"] + [k for k, _, _ in COLUMNS] + ["n_clips"])
        for row in self.rows:
            vals = [row.get(k) for k, _, _ in COLUMNS]
            w.writerow([row["method"]] + ["" if v is None or not math.isfinite(v) else f"{v:.6g}" for v in vals]
                       + [row.get("n_clips", "")])
        return buf.getvalue()


def write_report(report_: EvalReport, out: Path, header: str = "") -> tuple[Path, Path]:
    """Write ``eval.md`` and ``eval.csv`` into ``out`` atomically; returns both paths."""
    from ipoke_core.io_utils import atomic_write_text, ensure_writable_dir

    ensure_writable_dir(out)
    md, csv_path = out / "eval.md", out / "eval.csv"
    atomic_write_text(md, (header + "\n\n" if header else "") + report_.to_markdown())
    atomic_write_text(csv_path, report_.to_csv())
    return md, csv_path
