"""The small U-Net that reads masks off a source image: the part masks (``model.parts``) and the
object mask (``model.object_mask``) are both per-pixel labels of the still source, at full resolution.

It also sees the pixel coordinates, so two regions that look alike are told apart by where they are.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, dilation, dilation=dilation),
                         nn.GroupNorm(8, c_out), nn.SiLU(inplace=True))


def unit_grid(h: int, w: int, device: torch.device) -> torch.Tensor:
    """Pixel centres scaled to [-1, 1]: ``(2, H*W)``, x then y."""
    ys = torch.linspace(-1, 1, h, device=device)
    xs = torch.linspace(-1, 1, w, device=device)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)])


class MaskUNet(nn.Module):
    """Source image -> per-pixel logits: three scales (full, half, quarter with dilated convs for
    context), skip connections back up.

    ``logits(image (B, 3, R, R) in [-1, 1]) -> (B, n_out, R, R)``; subclasses turn them into masks.
    """

    def __init__(self, n_out: int, width: int = 32):
        super().__init__()
        w = width
        self.at_full = nn.Sequential(_conv(5, w), _conv(w, w))
        self.at_half = nn.Sequential(_conv(w, 2 * w, stride=2), _conv(2 * w, 2 * w))
        self.at_quarter = nn.Sequential(_conv(2 * w, 2 * w, stride=2), _conv(2 * w, 2 * w, dilation=2),
                                        _conv(2 * w, 2 * w, dilation=4))
        self.up_half = _conv(4 * w, 2 * w)
        self.up_full = _conv(3 * w, w)
        self.to_logits = nn.Conv2d(w, n_out, 1)

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        b, _, h, w = image.shape
        coords = unit_grid(h, w, image.device).to(image.dtype).reshape(1, 2, h, w).expand(b, -1, -1, -1)
        f1 = self.at_full(torch.cat([image, coords], 1))
        f2 = self.at_half(f1)
        f4 = self.at_quarter(f2)
        x = self.up_half(torch.cat([F.interpolate(f4, size=f2.shape[-2:], mode="bilinear", align_corners=False), f2], 1))
        x = self.up_full(torch.cat([F.interpolate(x, size=f1.shape[-2:], mode="bilinear", align_corners=False), f1], 1))
        return self.to_logits(x)
