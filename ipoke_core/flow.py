"""Optical flow with OpenCV's DIS and point tracking.

The paper estimated flow with FlowNet2; DIS (Kroeger et al. 2016) needs no GPU build and is
fast on a CPU. All flows are ``(H, W, 2) float32``: ``flow[y, x] = (dx, dy)`` moves pixel
(x, y) of the first image onto its match in the second.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _gray(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(img)


def make_dis(preset: str = "medium", small: bool = False) -> cv2.DISOpticalFlow:
    """A DIS flow object. ``small=True`` tunes it for 64-128 px images (finer patches, less pyramid)."""
    dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
    if small:
        dis.setPatchSize(8)
        dis.setPatchStride(3)
        dis.setFinestScale(0)
    return dis


def dis_flow(a: np.ndarray, b: np.ndarray, preset: str = "medium", dis: cv2.DISOpticalFlow | None = None) -> np.ndarray:
    """Dense flow from ``a`` to ``b``, both ``(H, W, 3)`` or ``(H, W)`` uint8; returns ``(H, W, 2) float32``."""
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"flow needs images of one size, got {a.shape[:2]} and {b.shape[:2]}")
    if dis is None:
        dis = make_dis(preset, small=max(a.shape[:2]) <= 160)
    return dis.calc(_gray(a), _gray(b), None)


def dis_flow_batch(first: Sequence[np.ndarray], second: Sequence[np.ndarray], preset: str = "medium") -> np.ndarray:
    """Flow for many image pairs, reusing one DIS object: ``(N, H, W, 2) float32``."""
    if len(first) == 0:
        return np.zeros((0, 0, 0, 2), np.float32)
    dis = make_dis(preset, small=max(first[0].shape[:2]) <= 160)
    return np.stack([dis.calc(_gray(a), _gray(b), None) for a, b in zip(first, second, strict=True)])


def sample_flow(flow: np.ndarray, x: float, y: float) -> np.ndarray:
    """Bilinear flow vector at sub-pixel location (x, y); ``(2,)``."""
    h, w = flow.shape[:2]
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    ax, ay = x - x0, y - y0
    top = flow[y0, x0] * (1 - ax) + flow[y0, x1] * ax
    bottom = flow[y1, x0] * (1 - ax) + flow[y1, x1] * ax
    return (top * (1 - ay) + bottom * ay).astype(np.float32)


def track_point(frames: Sequence[np.ndarray], x: float, y: float, preset: str = "medium") -> np.ndarray:
    """Follow pixel (x, y) of ``frames[0]`` through the frames by chaining frame-to-frame flow.

    Returns ``(T, 2)`` positions, the first being (x, y).
    """
    dis = make_dis(preset, small=max(frames[0].shape[:2]) <= 160)
    pts = [np.array([x, y], np.float32)]
    for a, b in zip(frames[:-1], frames[1:]):
        f = dis.calc(_gray(a), _gray(b), None)
        pts.append(pts[-1] + sample_flow(f, float(pts[-1][0]), float(pts[-1][1])))
    return np.stack(pts)
