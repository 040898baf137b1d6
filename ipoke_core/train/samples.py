"""PNG grids of training samples: source with poke arrow, generated frames, ground-truth frames.

Each example takes two rows: ``source + poke arrow | generated frames 1..T`` above
``source | ground-truth frames 1..T``. Background pokes (trained to a still video) get a grey arrow.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from ipoke_core.inference import to_uint8

if TYPE_CHECKING:
    from ipoke_core.train.engine import Engine


def _tile(img: np.ndarray, scale: int) -> np.ndarray:
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) if scale > 1 else img.copy()


def draw_poke(img: np.ndarray, poke: np.ndarray, scale: int, color: tuple[int, int, int]) -> np.ndarray:
    """Draw the poke ``(x, y, dx, dy)`` (model pixels) as an arrow on an upscaled RGB tile."""
    x, y, dx, dy = (float(v) for v in poke)
    p0 = (int(round((x + 0.5) * scale)), int(round((y + 0.5) * scale)))
    p1 = (int(round((x + dx + 0.5) * scale)), int(round((y + dy + 0.5) * scale)))
    thickness = max(1, scale // 2)
    cv2.arrowedLine(img, p0, p1, (0, 0, 0), thickness + 2, cv2.LINE_AA, tipLength=0.3)
    cv2.arrowedLine(img, p0, p1, color, thickness, cv2.LINE_AA, tipLength=0.3)
    cv2.circle(img, p0, thickness + 1, color, -1, cv2.LINE_AA)
    return img


def sample_grid(
    source: torch.Tensor,
    pokes: torch.Tensor,
    generated: torch.Tensor,
    target: torch.Tensor,
    background: torch.Tensor | None = None,
    min_tile: int = 96,
) -> np.ndarray:
    """Build the grid.

    Args:
        source: ``(N, 3, R, R)`` in [-1, 1]. pokes: ``(N, 4)`` x, y, dx, dy in model pixels.
        generated, target: ``(N, T, 3, R, R)`` in [-1, 1]. background: ``(N,)`` bool.
    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    n, t, _, r, _ = generated.shape
    scale = max(1, -(-min_tile // r))
    src, gen, gt = to_uint8(source), to_uint8(generated), to_uint8(target)
    pk = pokes.detach().float().cpu().numpy()
    bg = background.cpu().numpy() if background is not None else np.zeros(n, bool)
    tile = r * scale
    gap = 2
    header = 18
    width = (t + 1) * (tile + gap) + gap
    height = header + n * (2 * tile + 3 * gap) + gap
    canvas = np.full((height, width, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    labels = ["source / poke"] + [f"t={i + 1}" for i in range(t)]
    for j, label in enumerate(labels):
        cv2.putText(canvas, label, (gap + j * (tile + gap) + 3, header - 5), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(n):
        y0 = header + i * (2 * tile + 3 * gap)
        color = (160, 160, 160) if bg[i] else (255, 40, 40)
        rows = [
            [draw_poke(_tile(src[i], scale), pk[i], scale, color)] + [_tile(f, scale) for f in gen[i]],
            [_tile(src[i], scale)] + [_tile(f, scale) for f in gt[i]],
        ]
        for k, row in enumerate(rows):
            y = y0 + k * (tile + gap)
            for j, img in enumerate(row):
                x = gap + j * (tile + gap)
                canvas[y : y + tile, x : x + tile] = img
            tag = "generated" if k == 0 else "ground truth"
            cv2.putText(canvas, tag, (gap + tile + gap + 3, y + 12), font, 0.35, (255, 255, 0), 1, cv2.LINE_AA)
    return canvas


def write_sample_grid(engine: Engine, batches: list[dict], device: torch.device, path: Path) -> None:
    """Generate the first 4 clips of the first validation batch and write their grid to ``path`` (PNG).

    ``engine.generate(batch)`` gives ``(4, T, 3, R, R)`` videos in [-1, 1]; no batches, no file.
    """
    from ipoke_core.image import write_png
    from ipoke_core.train.engine import Batch

    if not batches:
        return
    items = {k: v[:4] for k, v in batches[0].items()}
    batch = Batch.from_items(items, device, engine.channels_last)
    video, _ = engine.generate(batch)
    write_png(sample_grid(batch.source, batch.poke, video, batch.frames, batch.background), path)
