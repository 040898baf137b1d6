"""The video at the photo's own resolution (issue 34): sharp where the object only moves.

The model works at R px (64 for the bundled ones), so a 512 px photo came back as a 64 px video,
magnified. But a motion-first model does not draw its frames pixel by pixel: it predicts a backward
flow, a blend mask and an RGB residual, ``frame = m * warp(source, flow) + (1 - m) * rgb``. Drawn
at the window's own size S, the flow and the mask are upsampled (bilinear, flow lengths times
S / R) and warp the full-resolution source, and only the part the model painted itself, the
residual ``frame - m * warp(source_R, flow)``, comes from the R px frame. Where warping alone acts
the frames are as sharp as the photo; where the model paints (disocclusions) they are as soft as
before.
"""
from __future__ import annotations

import cv2
import numpy as np

from ipoke_core.image import Framing

# the full-resolution video is drawn at most this many pixels wide: a 24 MP photo would otherwise
# give 10 frames of 4000 x 4000 (480 MB); the app shows and exports it at this size
MAX_SIDE = 1024


def full_side(framing: Framing, max_side: int = MAX_SIDE) -> int:
    """The side S of the full-resolution video of ``framing``'s window: its size in the working image's
    pixels, at most ``max_side``, at least the model's resolution."""
    return int(max(framing.resolution, min(round(framing.side), max_side)))


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs, ys


def _backward_warp(image: np.ndarray, flow: np.ndarray, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``out(p) = image(p + flow(p))``, bicubic, clamped at the border (as ``model.warp``), in the
    image's own dtype (uint8 in, uint8 out: OpenCV's fastest path)."""
    xs, ys = grid
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def render_full_resolution(image: np.ndarray, framing: Framing, source: np.ndarray, frames: np.ndarray,
                           flow: np.ndarray, mask: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """Draw a model-size video again at the window's own size.

    Args:
        image: ``(H, W, 3) uint8``, the working image ``framing`` was made for.
        source: ``(R, R, 3) uint8``, the model's input; ``frames`` ``(T, R, R, 3) uint8``, its frames.
        flow: ``(T, R, R, 2) float32`` backward flow in model px; ``mask`` ``(T, R, R) float32`` in [0, 1],
            the weight of the warped source.
    Returns:
        ``(source (S, S, 3) uint8, frames (T, S, S, 3) uint8)``, S = :func:`full_side`.
    """
    r = source.shape[0]
    s = full_side(framing, max_side)
    big = Framing(framing.width, framing.height, framing.x0, framing.y0, framing.side, s).apply(image)
    up = s / r
    small_grid, big_grid = _grid(r, r), _grid(s, s)
    src = source.astype(np.float32)
    out = np.empty((len(frames), s, s, 3), np.uint8)
    for t in range(len(frames)):
        f = np.ascontiguousarray(flow[t], np.float32)
        m = np.ascontiguousarray(mask[t], np.float32)
        # what the model painted itself: its frame minus the warped part (model size, upsampled as it is)
        painted = frames[t].astype(np.float32) - m[..., None] * _backward_warp(src, f, small_grid)
        flow_up = cv2.resize(f, (s, s), interpolation=cv2.INTER_LINEAR)
        flow_up *= up
        m_up = cv2.resize(m, (s, s), interpolation=cv2.INTER_LINEAR)
        frame = cv2.resize(painted, (s, s), interpolation=cv2.INTER_LINEAR)
        frame += m_up[..., None] * _backward_warp(big, flow_up, big_grid)
        np.clip(frame + 0.5, 0, 255, out=frame)  # +0.5: the cast truncates, the model's frames are rounded
        out[t] = frame
    return big, out


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image: higher is sharper (for comparing one scene's frames)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F).var())


__all__ = ["MAX_SIDE", "full_side", "render_full_resolution", "sharpness"]
