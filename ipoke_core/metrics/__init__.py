"""Video quality and control metrics (paper Sec. 4.3 and beyond).

Conventions: videos are ``(..., H, W, 3)`` uint8 arrays (what the generator returns) or floats in
[0, 1]; frame metrics return one value per frame (the leading dimensions), callers average over
time and clips. Metrics that need network weights (LPIPS, FVD) load them from local files and
raise :class:`WeightsError` when a file is missing or wrong; the evaluation reports them as
unavailable with that reason, never as 0.
"""
from ipoke_core.metrics.frechet import frechet_distance, gaussian_stats
from ipoke_core.metrics.motion_error import motion_error
from ipoke_core.metrics.poke_accuracy import poke_accuracy
from ipoke_core.metrics.psnr import psnr
from ipoke_core.metrics.ssim import ssim
from ipoke_core.metrics.weights import WeightsError

__all__ = [
    "WeightsError", "frechet_distance", "gaussian_stats", "motion_error", "poke_accuracy", "psnr", "ssim",
]
