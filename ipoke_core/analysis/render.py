"""Drawing correlation heatmaps: a colormap overlay on the source, and the Figure-5 grid."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ipoke_core.errors import UserError

if TYPE_CHECKING:
    from ipoke_core.analysis.heatmap import HeatmapResult

COLORMAPS = {
    "inferno": cv2.COLORMAP_INFERNO, "viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA, "turbo": cv2.COLORMAP_TURBO, "jet": cv2.COLORMAP_JET, "hot": cv2.COLORMAP_HOT,
    "cividis": cv2.COLORMAP_CIVIDIS, "gray": None,
}
LABEL_H = 22  # height of the caption band under each grid tile


def colorize(values: np.ndarray, colormap: str = "inferno") -> np.ndarray:
    """``(H, W)`` floats in [0, 1] -> ``(H, W, 3) uint8`` RGB through a named colormap."""
    if colormap not in COLORMAPS:
        raise UserError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")
    u8 = (np.clip(np.nan_to_num(values), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if COLORMAPS[colormap] is None:
        return np.repeat(u8[..., None], 3, axis=2)
    return cv2.cvtColor(cv2.applyColorMap(u8, COLORMAPS[colormap]), cv2.COLOR_BGR2RGB)


def _marker(img: np.ndarray, x: float, y: float, size: int, label: str | None = None) -> None:
    """A white ring with a black outline at (x, y), drawn in place (sub-pixel via shift bits)."""
    c = (int(round(x * 16)), int(round(y * 16)))
    r = max(3, size) * 16
    cv2.circle(img, c, r, (0, 0, 0), 3, cv2.LINE_AA, shift=4)
    cv2.circle(img, c, r, (255, 255, 255), 1, cv2.LINE_AA, shift=4)
    cv2.circle(img, c, 16 * 1, (255, 255, 255), -1, cv2.LINE_AA, shift=4)
    if label:
        org = (int(x) + max(3, size) + 2, int(y) - max(3, size))
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)


def _upscaled(source: np.ndarray, upscale: int) -> np.ndarray:
    if source.ndim != 3 or source.shape[2] != 3 or source.dtype != np.uint8:
        raise UserError(f"source must be an (H, W, 3) uint8 image, got {source.dtype} {source.shape}")
    if upscale < 1:
        raise UserError(f"upscale must be >= 1, got {upscale}")
    h, w = source.shape[:2]
    return cv2.resize(source, (w * upscale, h * upscale), interpolation=cv2.INTER_CUBIC) if upscale > 1 else source.copy()


def _to_canvas(result: HeatmapResult, canvas: np.ndarray) -> tuple[float, float, float]:
    """(x, y) of the poke location on ``canvas`` and the map->canvas scale (pixel centres at integers)."""
    r = result.heatmap.shape[1]
    s = canvas.shape[1] / r
    x, y = result.location
    return (x + 0.5) * s - 0.5, (y + 0.5) * s - 0.5, s


def render_overlay(
    source: np.ndarray,
    result: HeatmapResult,
    alpha: float = 0.6,
    colormap: str = "inferno",
    upscale: int = 4,
    mark: bool = True,
) -> np.ndarray:
    """The heatmap blended over the source: ``(H * upscale, W * upscale, 3) uint8``.

    ``source`` is the image the map was computed on (usually the ``(R, R, 3)`` model input; a
    larger square copy works too, the map is stretched over it). ``alpha`` is the weight of the
    colormap; ``mark`` draws a ring at the poke location.
    """
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1], got {alpha}")
    base = _upscaled(source, upscale)
    h, w = base.shape[:2]
    heat = cv2.resize(result.heatmap.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    out = (base.astype(np.float32) * (1.0 - alpha) + colorize(heat, colormap).astype(np.float32) * alpha + 0.5)
    out = out.astype(np.uint8)
    if mark:
        x, y, s = _to_canvas(result, out)
        _marker(out, x, y, int(round(1.5 * s)))
    return out


def caption(tile: np.ndarray, text: str) -> np.ndarray:
    """``tile (H, W, 3) uint8`` with ``text`` on a white band of ``LABEL_H`` px underneath."""
    band = np.full((LABEL_H, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (4, LABEL_H - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([tile, band], axis=0)


def _colorbar(height: int, colormap: str, width: int = 14) -> np.ndarray:
    ramp = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None].repeat(width, 1)
    bar = colorize(ramp, colormap)
    pad = np.full((height, 26, 3), 255, np.uint8)
    cv2.putText(pad, "1", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(pad, "0", (4, height - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, pad], axis=1)


def render_grid(
    source: np.ndarray,
    results: Sequence[HeatmapResult],
    alpha: float = 0.6,
    colormap: str = "inferno",
    upscale: int = 4,
    columns: int | None = None,
    captions: bool = True,
    colorbar: bool = True,
    gap: int = 4,
) -> np.ndarray:
    """Figure-5 layout: the source with every location numbered, then one overlay per location.

    Tiles are laid out left to right, ``columns`` per row (all in one row by default), separated
    by ``gap`` white pixels; captions give each map's location and N; a colour bar closes the row.
    Returns ``(H', W', 3) uint8``.
    """
    if not results:
        raise UserError("render_grid needs at least one heatmap")
    first = _upscaled(source, upscale)
    for i, res in enumerate(results):
        x, y, s = _to_canvas(res, first)
        _marker(first, x, y, int(round(1.5 * s)), label=str(i + 1))
    tiles = [caption(first, "source") if captions else first]
    for i, res in enumerate(results):
        tile = render_overlay(source, res, alpha, colormap, upscale, mark=True)
        if captions:
            tile = caption(tile, f"{i + 1}: ({res.location[0]:.0f}, {res.location[1]:.0f})  N={res.n}")
        tiles.append(tile)
    cols = columns or len(tiles)
    th, tw = tiles[0].shape[:2]
    rows = []
    for r0 in range(0, len(tiles), cols):
        row = tiles[r0:r0 + cols]
        row += [np.full_like(tiles[0], 255)] * (cols - len(row))
        parts = []
        for j, t in enumerate(row):
            if j:
                parts.append(np.full((th, gap, 3), 255, np.uint8))
            parts.append(t)
        if colorbar:
            parts += [np.full((th, gap, 3), 255, np.uint8), _colorbar(th, colormap)]
        rows.append(np.concatenate(parts, axis=1))
    out = []
    for i, row in enumerate(rows):
        if i:
            out.append(np.full((gap, row.shape[1], 3), 255, np.uint8))
        out.append(row)
    return np.concatenate(out, axis=0)


# ---- parts ---------------------------------------------------------------------------------------
# distinct colours for parts 0, 1, ... (Okabe-Ito and Tableau hues, light enough over a dark image)
PART_COLORS = np.array([
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (204, 121, 167), (213, 94, 0),
    (0, 114, 178), (148, 103, 189), (188, 189, 34), (23, 190, 207), (255, 127, 14), (140, 86, 75),
], np.uint8)


def part_color(part: int) -> tuple[int, int, int]:
    """The RGB colour of part ``part`` (>= 0) in every parts drawing (the app's too)."""
    return tuple(int(v) for v in PART_COLORS[part % len(PART_COLORS)])


def render_parts(source: np.ndarray, labels: np.ndarray, alpha: float = 0.55, upscale: int = 4,
                 edges: bool = True, still_dim: float = 0.5) -> np.ndarray:
    """Parts coloured over the image: ``(H * upscale, W * upscale, 3) uint8``.

    ``labels`` is ``(h, w) int`` (-1 still), stretched over ``source`` (nearest); every part gets
    its :func:`part_color` at weight ``alpha``, still pixels are greyed and darkened by
    ``still_dim``, and ``edges`` draws a thin dark line where parts meet.
    """
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1], got {alpha}")
    base = _upscaled(source, upscale).astype(np.float32)
    h, w = base.shape[:2]
    lab = cv2.resize(np.asarray(labels, np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
    grey = base.mean(-1, keepdims=True).repeat(3, -1)
    out = grey * still_dim + 255.0 * (1.0 - still_dim) * 0.15  # still: muted, so the parts stand out
    moving = lab >= 0
    colours = PART_COLORS[np.where(moving, lab, 0) % len(PART_COLORS)].astype(np.float32)
    blend = base * (1.0 - alpha) + colours * alpha
    out = np.where(moving[..., None], blend, out)
    if edges:
        shifted = (lab != np.roll(lab, 1, 0)) | (lab != np.roll(lab, 1, 1))
        shifted[0, :] = shifted[:, 0] = False
        out[shifted] = out[shifted] * 0.35
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
