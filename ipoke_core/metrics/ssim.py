"""Structural similarity (Wang et al. 2004) with an 11x11 Gaussian window, vectorised in torch."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ipoke_core.metrics.frames import check_pair, to_unit_tensor

K1, K2 = 0.01, 0.03


def _gaussian(size: int, sigma: float) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


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
    g = _gaussian(size, sigma).to(torch.float64)
    c1, c2 = K1 ** 2, K2 ** 2
    out = []
    for i in range(0, a_all.shape[0], chunk):  # bounded memory for long evaluations
        a = a_all[i:i + chunk].double()
        b = b_all[i:i + chunk].double()
        mu_a, mu_b = _blur(a, g), _blur(b, g)
        var_a = _blur(a * a, g) - mu_a * mu_a
        var_b = _blur(b * b, g) - mu_b * mu_b
        cov = _blur(a * b, g) - mu_a * mu_b
        num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
        den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
        out.append((num / den).mean(dim=(1, 2, 3)))
    return torch.cat(out).numpy().reshape(lead)
