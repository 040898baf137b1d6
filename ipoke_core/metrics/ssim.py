"""Structural similarity (Wang et al. 2004): the one home of the SSIM equation.

:func:`ssim` is the metric (11x11 Gaussian window, per frame, float64) that ``ipoke eval`` and
training validation report; :func:`ssim_map` is the equation itself, which the training loss
(``ipoke_core.train.losses.ssim``: 7x7 window, reflect padding, fp32, differentiable) shares.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ipoke_core.metrics.frames import check_pair, to_unit_tensor

K1, K2 = 0.01, 0.03


def gaussian_kernel(size: int, sigma: float, dtype: torch.dtype = torch.float64,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """``(size,)`` normalised 1-D Gaussian, computed in ``dtype`` on ``device``."""
    g = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(g**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_map(a: torch.Tensor, b: torch.Tensor, blur: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """SSIM at every position of ``(M, C, H, W)`` images in [0, 1]; ``blur`` takes the local (Gaussian)
    means, each channel on its own. Differentiable; computes in the inputs' dtype."""
    c1, c2 = K1**2, K2**2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return num / den


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filter of ``(M, C, H, W)``, each channel on its own."""
    c = x.shape[1]
    k = g.numel()
    x = F.conv2d(x, g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)


@torch.inference_mode()
def ssim(pred: np.ndarray, target: np.ndarray, window: int = 11, sigma: float = 1.5, chunk: int = 512) -> np.ndarray:
    """Mean SSIM of every frame (over the valid window positions and the 3 channels).

    Args:
        pred, target: ``(..., H, W, 3)`` uint8 or float in [0, 1]. Frames smaller than the window
            use a window of their size (rounded down to odd).
    Returns:
        ``(...)`` float64 in [-1, 1]; 1 for identical frames.
    """
    check_pair(pred, target)
    lead = tuple(pred.shape[:-3])
    a_all, b_all = to_unit_tensor(pred), to_unit_tensor(target)
    h, w = a_all.shape[-2:]
    size = min(window, h, w)
    size -= 1 - size % 2
    g = gaussian_kernel(size, sigma)
    out = []
    for i in range(0, a_all.shape[0], chunk):  # bounded memory for long evaluations
        a = a_all[i:i + chunk].double()
        b = b_all[i:i + chunk].double()
        out.append(ssim_map(a, b, lambda t: _blur(t, g)).mean(dim=(1, 2, 3)))
    return torch.cat(out).numpy().reshape(lead)
