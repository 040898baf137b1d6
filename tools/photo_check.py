"""Poke a real photo and measure what moved: the check behind the README's "Real photos" section.

A photo has no ground truth, so this measures what a user looks at, per poke:

- poked point: the pixel under the poke tracked with DIS through the generated video
  (``metrics.poke_accuracy``): its distance to the poke's target at the last frame, next to the
  poke's length (what a still video scores);
- far change: mean grey-level change |last frame - source| (0-255) on the pixels farther than
  ``--far`` model px from the poke: the rest of the picture should stay;
- a background poke (``--background``): the mean change over the whole image, which should be
  below 1 grey level like the synthetic test's background poke.

It writes a figure, one row per poke: the input with the poke, the last frame, the change
|last - source| (x4, grey), the model's motion magnitude, and the Fig.-5 heatmap at the poke.

    python tools/photo_check.py --image flower.jpg --checkpoint resources/checkpoints/plants64 \\
        --poke 0.50,0.35,5,-2 --poke 0.60,0.80,-4,0 --background 0.10,0.10 --out photo.png

Poke locations are fractions of the square the model sees (x, y in [0, 1]); displacements are
model pixels, like ``app.screenshots --poke``.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import cv2
import numpy as np

from ipoke_core.analysis.heatmap import correlation_heatmap, poker_generate_fn, poker_motion_fn
from ipoke_core.analysis.render import LABEL_H, caption, colorize
from ipoke_core.export import draw_pokes, upscale_frames
from ipoke_core.inference import load_poker
from ipoke_core.metrics.poke_accuracy import poke_accuracy
from ipoke_core.poke import Poke


def parse_numbers(text: str, n: int, what: str) -> list[float]:
    parts = [float(v) for v in text.split(",")]
    if len(parts) != n or not all(math.isfinite(v) for v in parts):
        raise SystemExit(f"{what} needs {n} comma-separated numbers, got {text!r}")
    return parts


def grey_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(R, R)`` absolute grey-level difference of two ``(R, R, 3) uint8`` images."""
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.abs(gb - ga)


def tile(img: np.ndarray, upscale: int, text: str, pokes: list[Poke] | None = None) -> np.ndarray:
    big = upscale_frames(img, upscale)
    return caption(draw_pokes(big, pokes, float(upscale)) if pokes else big, text)


def gap(upscale: int, resolution: int) -> np.ndarray:
    """A white 4-px column as tall as a tile with its caption."""
    return np.full((resolution * upscale + LABEL_H, 4, 3), 255, np.uint8)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", required=True, type=Path)
    ap.add_argument("--checkpoint", default="resources/checkpoints/plants64")
    ap.add_argument("--poke", action="append", required=True, help="x,y,dx,dy (x, y fractions; dx, dy model px)")
    ap.add_argument("--background", help="x,y (fractions): a poke there of the first poke's size should change nothing")
    ap.add_argument("--far", type=float, default=16.0, help="model px: 'the rest' is farther than this from the poke")
    ap.add_argument("--heatmap-n", type=int, default=64)
    ap.add_argument("--letterbox", action="store_true")
    ap.add_argument("--out", type=Path, required=True, help="figure (.png)")
    args = ap.parse_args(argv)

    poker = load_poker(args.checkpoint, device="cpu")
    source, _ = poker.prepare(args.image, letterbox=args.letterbox)
    r = poker.resolution
    ys, xs = np.mgrid[0:r, 0:r]
    rows, up = [], 4
    print(f"{args.image.name} on {Path(args.checkpoint).name} ({r} px model square)")
    pokes = []
    for text in args.poke:
        fx, fy, dx, dy = parse_numbers(text, 4, "--poke")
        pokes.append(Poke(fx * (r - 1), fy * (r - 1), dx, dy))
    for p in pokes:
        video, flow = poker.generate(source, [[p]], with_flow=True) if poker.predicts_motion \
            else (poker.generate(source, [[p]]), None)
        frames = video[0]
        err = poke_accuracy(source, frames, p)
        change = grey_change(source, frames[-1])
        far = np.hypot(xs - p.x, ys - p.y) > args.far
        far_change = float(change[far].mean())
        heat = correlation_heatmap(poker_generate_fn(poker, source), source, (p.x, p.y), n=args.heatmap_n,
                                   motion=poker_motion_fn(poker, source))
        print(f"  poke at ({p.x:.1f}, {p.y:.1f}) by ({p.dx:+.1f}, {p.dy:+.1f}) px: the poked point ends "
              f"{err:.2f} px from its target (a still video: {p.magnitude:.2f} px); mean change farther than "
              f"{args.far:g} px from the poke {far_change:.2f} grey levels, within it "
              f"{float(change[~far].mean()):.2f}; heatmap mean {float(heat.heatmap.mean()):.2f}")
        row = [tile(source, up, "input + poke", [p]),
               tile(frames[-1], up, f"last frame (poke err {err:.1f} px)"),
               tile(colorize(np.clip(change * 4 / 255, 0, 1), "gray"), up, f"|change| x4, far {far_change:.2f}")]
        if flow is not None:
            mag = np.hypot(flow[0, -1, ..., 0], flow[0, -1, ..., 1])
            row.append(tile(colorize(mag / max(p.magnitude, 1e-6)), up, "model motion / poke"))
        row.append(tile(colorize(heat.heatmap), up, f"heatmap N={args.heatmap_n}"))
        rows.append(np.concatenate([np.concatenate([t, gap(up, r)], 1) for t in row], 1))
    if args.background:
        bx, by = parse_numbers(args.background, 2, "--background")
        q = Poke(bx * (r - 1), by * (r - 1), pokes[0].dx, pokes[0].dy)
        moved = ""
        if poker.predicts_motion:
            video, flow = poker.generate(source, [[q]], with_flow=True)
            moved = (f"; the model's own motion averages "
                     f"{float(np.hypot(flow[0, -1, ..., 0], flow[0, -1, ..., 1]).mean()):.2f} px over the image")
        else:
            video = poker.generate(source, [[q]])
        still = video[0]
        change = grey_change(source, still[-1])
        print(f"  background poke at ({q.x:.1f}, {q.y:.1f}): mean change {float(change.mean()):.2f} "
              f"grey levels over the image{moved}")
        rows.append(np.concatenate([
            tile(source, up, "background poke", [q]), gap(up, r),
            tile(still[-1], up, "last frame"), gap(up, r),
            tile(colorize(np.clip(change * 4 / 255, 0, 1), "gray"), up, f"|change| x4, mean {float(change.mean()):.2f}")], 1))
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 4), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rows]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR)):
        raise SystemExit(f"could not write {args.out}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
