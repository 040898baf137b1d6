"""Motion error: end-point error of the generated motion against the true motion."""
from __future__ import annotations

import numpy as np

from ipoke_core.flow import dis_flow


def motion_error(source: np.ndarray, last_frame: np.ndarray, true_motion: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean end-point error (pixels) between DIS flow ``source -> last_frame`` and ``true_motion``.

    Args:
        source, last_frame: ``(H, W, 3)`` uint8; the first and last frame of a generated video.
        true_motion: ``(H, W, 2)``, where each pixel of the source truly is at the last frame.
        mask: ``(H, W)`` bool, the pixels to average over (object pixels); all pixels if None.
    Returns:
        the mean EPE over the mask, NaN if the mask is empty.
    """
    if true_motion.shape != source.shape[:2] + (2,):
        raise ValueError(f"true motion {true_motion.shape} does not match frames {source.shape}")
    epe = np.linalg.norm(dis_flow(source, last_frame) - true_motion, axis=-1)
    if mask is not None:
        epe = epe[mask]
    return float(epe.mean()) if epe.size else float("nan")
