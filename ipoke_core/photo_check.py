"""Poke a real photo and measure what moved (``ipoke check-photo``).

A photo has no ground truth, so this measures what a user looks at, per poke:

- the poked point: the pixel under the poke tracked with DIS through the generated video
  (``metrics.poke_accuracy``): its distance to the poke's target at the last frame, next to the
  poke's length (what a still video scores);
- the far change: mean grey-level change |last frame - source| (0-255) on the pixels farther than
  ``far`` model px from the poke: the rest of the picture should stay;
- a background poke (optional): the mean change over the whole image, which should be below 1 grey
  level like the synthetic test's background poke.

The figure has one row per poke: the input with the poke, the last frame, the change |last - source|
(x4, grey), the model's motion magnitude, and the Fig.-5 heatmap at the poke.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ipoke_core.analysis.heatmap import correlation_heatmap, poker_generate_fn, poker_motion_fn
from ipoke_core.analysis.render import caption, colorize
from ipoke_core.errors import UserError
from ipoke_core.export import draw_pokes, upscale_frames
from ipoke_core.metrics.poke_accuracy import poke_accuracy
from ipoke_core.poke import Poke

UPSCALE = 4  # the figure's tiles are 4x the model's square


@dataclass
class PokeResult:
    """What one poke of the photo moved (model pixels; changes in grey levels 0-255)."""

    poke: Poke
    error_px: float  # the poked point's distance to the poke's target at the last frame
    far_change: float  # mean change farther than ``far`` px from the poke
    near_change: float  # mean change within ``far`` px
    heatmap_mean: float


@dataclass
class BackgroundResult:
    """What a poke on the background moved."""

    poke: Poke
    mean_change: float  # over the whole image
    mean_motion_px: float | None  # the model's own motion over the image (motion-first checkpoints only)


@dataclass
class PhotoCheck:
    pokes: list[PokeResult]
    background: BackgroundResult | None
    figure: np.ndarray  # (H, W, 3) uint8


def parse_fractions(text: str, n: int, option: str) -> list[float]:
    """``n`` comma-separated finite numbers of ``option``'s value; the first two are fractions in [0, 1]."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise UserError(f"{option} {text!r}: expected {n} comma-separated numbers "
                        f"({'x,y,dx,dy like 0.5,0.35,5,-2' if n == 4 else 'x,y like 0.1,0.1'})")
    if not all(0 <= v <= 1 for v in values[:2]):
        raise UserError(f"{option} {text!r}: x and y are fractions of the model's square, between 0 and 1")
    return values


def grey_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(R, R)`` absolute grey-level difference of two ``(R, R, 3) uint8`` images."""
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.abs(gb - ga)


def _tile(img: np.ndarray, text: str, pokes: list[Poke] | None = None) -> np.ndarray:
    big = upscale_frames(img, UPSCALE)
    return caption(draw_pokes(big, pokes, float(UPSCALE)) if pokes else big, text)


def _row(tiles: list[np.ndarray]) -> np.ndarray:
    """Tiles side by side, each followed by a white 4-px column."""
    gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([part for t in tiles for part in (t, gap)], 1)


def _motion(poker, source: np.ndarray, poke: Poke) -> tuple[np.ndarray, np.ndarray | None]:
    """The poke's frames ``(T, R, R, 3)`` and the model's last-frame motion magnitude (None without motion)."""
    if not poker.predicts_motion:
        return poker.generate(source, [[poke]])[0], None
    video, flow = poker.generate(source, [[poke]], with_flow=True)
    return video[0], np.hypot(flow[0, -1, ..., 0], flow[0, -1, ..., 1])


def check_photo(poker, image: str | Path, pokes: list[Poke], background: tuple[float, float] | None = None,
                far: float = 16.0, heatmap_n: int = 64, letterbox: bool = False) -> PhotoCheck:
    """Poke ``image`` with each of ``pokes`` (model pixels) on ``poker`` (an ``inference.Poker``) and
    measure what moved; ``background`` (model pixels) adds a poke there of the first poke's size."""
    source, _ = poker.prepare(image, letterbox=letterbox)
    r = poker.resolution
    ys, xs = np.mgrid[0:r, 0:r]
    results, rows = [], []
    for p in pokes:
        frames, magnitude = _motion(poker, source, p)
        err = poke_accuracy(source, frames, p)
        change = grey_change(source, frames[-1])
        is_far = np.hypot(xs - p.x, ys - p.y) > far
        far_change = float(change[is_far].mean()) if is_far.any() else 0.0
        near_change = float(change[~is_far].mean()) if (~is_far).any() else 0.0
        heat = correlation_heatmap(poker_generate_fn(poker, source), source, (p.x, p.y), n=heatmap_n,
                                   motion=poker_motion_fn(poker, source))
        results.append(PokeResult(p, err, far_change, near_change, float(heat.heatmap.mean())))
        tiles = [_tile(source, "input + poke", [p]),
                 _tile(frames[-1], f"last frame (poke err {err:.1f} px)"),
                 _tile(colorize(np.clip(change * 4 / 255, 0, 1), "gray"), f"|change| x4, far {far_change:.2f}")]
        if magnitude is not None:
            tiles.append(_tile(colorize(magnitude / max(p.magnitude, 1e-6)), "model motion / poke"))
        tiles.append(_tile(colorize(heat.heatmap), f"heatmap N={heatmap_n}"))
        rows.append(_row(tiles))
    still = None
    if background is not None:
        q = Poke(background[0], background[1], pokes[0].dx, pokes[0].dy)
        frames, magnitude = _motion(poker, source, q)
        change = grey_change(source, frames[-1])
        still = BackgroundResult(q, float(change.mean()), None if magnitude is None else float(magnitude.mean()))
        rows.append(_row([_tile(source, "background poke", [q]), _tile(frames[-1], "last frame"),
                          _tile(colorize(np.clip(change * 4 / 255, 0, 1), "gray"),
                                f"|change| x4, mean {still.mean_change:.2f}")]))
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 4), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rows]
    return PhotoCheck(results, still, np.concatenate(rows, 0))

