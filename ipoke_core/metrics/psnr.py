"""Peak signal-to-noise ratio per frame."""
from __future__ import annotations

import numpy as np

from ipoke_core.metrics.frames import check_pair

# identical frames have infinite PSNR; capping keeps averages finite (a still clip predicted
# perfectly by the static baseline would otherwise make the whole column inf)
MAX_PSNR_DB = 100.0


def psnr(pred: np.ndarray, target: np.ndarray, max_db: float = MAX_PSNR_DB) -> np.ndarray:
    """PSNR in dB of every frame: ``10 log10(peak^2 / MSE)``, MSE over pixels and channels.

    Args:
        pred, target: ``(..., H, W, 3)``, both uint8 (peak 255) or both float in [0, 1] (peak 1).
    Returns:
        ``(...)`` float64, at most ``max_db``.
    """
    check_pair(pred, target)
    peak = 255.0 if pred.dtype == np.uint8 else 1.0
    diff = pred.astype(np.float64) - target.astype(np.float64)
    mse = np.mean(diff * diff, axis=(-3, -2, -1))
    floor = peak * peak * 10.0 ** (-max_db / 10.0)
    return 10.0 * np.log10(peak * peak / np.maximum(mse, floor))
