"""Sharpness: the variance of the Laplacian (Pech-Pacheco et al. 2000), the usual blur measure.

A generator that averages its uncertainty paints blurry frames; the ratio of a generated
frame's Laplacian variance to the source's says how much detail survived (1 = as sharp as the input).
"""
from __future__ import annotations

import cv2
import numpy as np


def laplacian_variance(image: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian of the grey image; ``image`` is ``(H, W, 3)`` or ``(H, W)`` uint8."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(gray.astype(np.float64), cv2.CV_64F).var())


def sharpness_ratio(source: np.ndarray, frame: np.ndarray) -> float:
    """``laplacian_variance(frame) / laplacian_variance(source)``; NaN for a flat source."""
    ref = laplacian_variance(source)
    return laplacian_variance(frame) / ref if ref > 1e-9 else float("nan")
