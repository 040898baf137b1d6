"""Loss curves of a run (``RUN_DIR/metrics.csv``) drawn to a PNG with OpenCV (no matplotlib).

One panel per group of losses, each with its own axes: stage 1, stage 2 generator,
adversarial terms, validation distances, validation PSNR and SSIM. A panel uses a log scale when its
values are positive and span more than a factor of 20. Raw values are drawn thin, an
exponential moving average thick.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np

from ipoke_core import json_text
from ipoke_core.errors import UserError

PANELS: list[tuple[str, list[str]]] = [
    ("stage 1: frame autoencoder", ["ae_perc", "ae_l1"]),
    ("stage 2: generator", ["loss", "perc", "latent"]),
    ("adversarial (hinge) + feature matching", ["g_spatial", "g_temporal", "fm", "d_spatial", "d_temporal", "gp"]),
    ("validation distances", ["val_metric", "val_l1", "val_ae_l1", "val_bg_motion"]),
    ("validation PSNR (dB)", ["val_psnr"]),
    ("validation SSIM", ["val_ssim"]),
]
# distinct colours (BGR) for up to 6 series per panel
COLORS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140)]


class PlotError(UserError):
    """The run folder has no metrics to plot."""


def read_metrics(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{column: (steps, values)}`` for every column with at least one value."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        raise PlotError(f"{path} not found: is {run_dir} a training run folder (ipoke train --out)?")
    try:
        series = _read_series(path)
    except (UnicodeDecodeError, csv.Error) as e:  # a binary or NUL-holding file in metrics.csv's place
        raise PlotError(f"{path} is not a metrics table written by ipoke train ({type(e).__name__}: "
                        f"{str(e).splitlines()[0][:120]})") from None
    except OSError as e:
        raise PlotError(f"cannot read {path}: {e.strerror or e}") from None
    if not series:
        raise PlotError(f"{path} holds no logged values yet")
    out = {}
    for k, pts in series.items():
        a = np.array(sorted(pts))
        out[k] = (a[:, 0], a[:, 1])
    return out


def _read_series(path: Path) -> dict[str, list[tuple[float, float]]]:
    """The finite values of every column of ``metrics.csv``, with their steps; rows without a step are skipped."""
    series: dict[str, list[tuple[float, float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                step = float(row["step"])
            except (KeyError, TypeError, ValueError):
                continue
            for k, v in row.items():
                if k in ("step", "stage", "epoch", "wall_s") or v in (None, ""):
                    continue
                try:
                    value = float(v)
                except (ValueError, TypeError):  # a text cell, or the extra cells of a too-long row (a list)
                    continue
                if math.isfinite(value):
                    series.setdefault(k, []).append((step, value))
    return series


def ema(values: np.ndarray, smooth: float) -> np.ndarray:
    if smooth <= 0 or len(values) < 3:
        return values
    out = np.empty_like(values)
    acc = values[0]
    for i, v in enumerate(values):
        acc = smooth * acc + (1 - smooth) * v
        out[i] = acc
    return out


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.1e}"


def draw_panel(title: str, series: dict[str, tuple[np.ndarray, np.ndarray]], labels: dict[str, str],
               size: tuple[int, int] = (640, 360), smooth: float = 0.6) -> np.ndarray:
    """One chart: ``series`` name -> (x, y). Returns a ``(h, w, 3)`` BGR image."""
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 62, 12, 28, 36
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, title, (left, 18), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    xs = np.concatenate([s[0] for s in series.values()])
    ys = np.concatenate([s[1] for s in series.values()])
    log = bool(ys.min() > 0 and ys.max() / ys.min() > 20)
    ty = np.log10 if log else (lambda a: a)
    y_lo, y_hi = float(ty(ys).min()), float(ty(ys).max())
    if y_hi - y_lo < 1e-12:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = 0.05 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    x_lo, x_hi = float(xs.min()), float(xs.max())
    if x_hi <= x_lo:
        x_hi = x_lo + 1
    pw, ph = w - left - right, h - top - bottom

    def px(x, y):
        return (left + (np.asarray(x) - x_lo) / (x_hi - x_lo) * pw, top + (1 - (np.asarray(y) - y_lo) / (y_hi - y_lo)) * ph)

    grid, axis = (230, 230, 230), (90, 90, 90)
    for t in _nice_ticks(y_lo, y_hi):
        _, yy = px(x_lo, t)
        cv2.line(img, (left, int(yy)), (left + pw, int(yy)), grid, 1)
        cv2.putText(img, _fmt(10**t if log else t), (4, int(yy) + 4), font, 0.35, axis, 1, cv2.LINE_AA)
    for t in _nice_ticks(x_lo, x_hi):
        xx, _ = px(t, y_lo)
        cv2.line(img, (int(xx), top), (int(xx), top + ph), grid, 1)
        cv2.putText(img, f"{t:g}", (int(xx) - 12, top + ph + 14), font, 0.35, axis, 1, cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (left + pw, top + ph), axis, 1)
    cv2.putText(img, "step" + ("   (log scale)" if log else ""), (left + pw // 2 - 20, h - 6), font, 0.4, axis, 1,
                cv2.LINE_AA)
    for i, (name, (x, y)) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        faint = tuple(int(c + (255 - c) * 0.6) for c in color)
        lines = [(y, faint, 1), (ema(y, smooth), color, 2)] if len(y) > 2 and smooth > 0 else [(y, color, 2)]
        for values, c, thick in lines:
            xx, yy = px(x, ty(values))
            pts = np.stack([xx, yy], 1).round().astype(np.int32)
            if len(pts) == 1:
                cv2.circle(img, tuple(pts[0]), 3, c, -1, cv2.LINE_AA)
            else:
                cv2.polylines(img, [pts], False, c, thick, cv2.LINE_AA)
        label = f"{labels.get(name, name)}: {_fmt(float(y[-1]))}"
        ly = top + 14 + 15 * i
        cv2.line(img, (left + pw - 190, ly - 4), (left + pw - 172, ly - 4), color, 2)
        cv2.putText(img, label, (left + pw - 168, ly), font, 0.38, (40, 40, 40), 1, cv2.LINE_AA)
    return img


def plot_run(run_dir: str | Path, out: str | Path | None = None, smooth: float = 0.6) -> Path:
    """Draw all panels with data for ``run_dir``; writes ``out`` (default ``RUN_DIR/losses.png``)."""
    from ipoke_core.image import write_png

    run_dir = Path(run_dir)
    data = read_metrics(run_dir)
    labels = {}
    try:
        info = json_text.parse((run_dir / "run.json").read_text())
        labels["val_metric"] = f"val {info.get('validation_metric', 'metric')}"
    except (OSError, ValueError, AttributeError):  # JsonError is a ValueError; a list has no .get
        pass
    labels.update({"val_bg_motion": "background-poke motion", "val_ae_l1": "val autoencoder L1"})
    panels = []
    for title, keys in PANELS:
        present = {k: data[k] for k in keys if k in data}
        if present:
            panels.append(draw_panel(title, present, labels, smooth=smooth))
    if not panels:
        raise PlotError(f"{run_dir}/metrics.csv has no loss columns to plot")
    if len(panels) % 2:
        panels.append(np.full_like(panels[0], 255))
    rows = [np.concatenate(panels[i : i + 2], 1) for i in range(0, len(panels), 2)]
    sheet = np.concatenate(rows, 0)
    out = Path(out) if out else run_dir / "losses.png"
    write_png(cv2.cvtColor(sheet, cv2.COLOR_BGR2RGB), out)
    return out
