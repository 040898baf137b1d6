"""Building blocks shared by the encoders, the dynamics model and the decoder (paper App. E.1)."""
from __future__ import annotations

import torch
from torch import nn


# PyTorch's channels-last GroupNorm on the CPU works per (sample, group) below this many pixels per map,
# reading one value per pixel at a stride of C when each group is one channel (aten group_norm_kernel.cpp)
_CHANNELS_LAST_SMALL_MAP = 1024


class InstanceNorm(nn.GroupNorm):
    """Affine instance norm of ``(B, C, H, W)``: per sample and channel, zero mean and unit variance over H, W.

    Written as a GroupNorm with one group per channel: the same function with the same parameters
    (``weight``, ``bias``; checkpoints saved with ``nn.InstanceNorm2d`` load unchanged), but GroupNorm has a
    CPU kernel that reads channels-last tensors as they are, where InstanceNorm2d reshapes into a batch
    norm and copies the tensor. Maps under 1,024 pixels (the 8 and 16 px levels) are normalised in the
    contiguous layout instead: there the channels-last kernel strides over channels one value at a time,
    2x slower in fp32 and 10-25x in bf16 than converting there and back. Together (plants64, 2 threads):
    64 pokes 2.05 -> 1.55 s in fp32, 1.10 -> 0.89 s in bf16 (docs/performance.md).
    """

    def __init__(self, channels: int):
        super().__init__(channels, channels, eps=1e-5, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type == "cpu" and x.shape[-2] * x.shape[-1] < _CHANNELS_LAST_SMALL_MAP
                and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)):
            return super().forward(x.contiguous()).contiguous(memory_format=torch.channels_last)
        return super().forward(x)


class ELU(nn.Module):
    """``nn.ELU(inplace=True)`` (alpha 1) with a CPU inference path 5-8x faster.

    PyTorch's CPU ELU computes ``expm1`` one element at a time (torch 2.14: ``Vectorized::expm1`` maps
    the scalar function), which made ELU a fifth of a heatmap's time. Without autograd on the CPU this
    computes ``max(x, exp(min(x, 0)) - 1)`` in place with vectorised kernels instead: equal to ELU since
    ``exp(x) - 1 >= x``, within 5e-8 of it in fp32 and one rounding more in bf16 (error 0.003 against
    0.002). A 10-frame video's ``(10, 32, 64, 64)`` map: 5.9 -> 0.8 ms in fp32, 6.0 -> 0.7 ms in bf16
    (2 threads; docs/performance.md). Training keeps PyTorch's kernel: the same trick with autograd
    made an ELU 3x faster but a training step no faster (page faults and convolutions dominate there).
    GPUs use PyTorch's kernel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or (x.requires_grad and torch.is_grad_enabled()):
            return nn.functional.elu(x, inplace=True)
        below = torch.clamp(x, max=0).exp_().sub_(1)
        return torch.maximum(x, below, out=x)


class ConvNormAct(nn.Sequential):
    """3x3 convolution -> instance norm -> ELU. ``(B, C_in, H, W) -> (B, C_out, H/stride, W/stride)``."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, norm: bool = True):
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not norm),
            InstanceNorm(c_out) if norm else nn.Identity(),
            ELU(),
        )


class ResBlock(nn.Module):
    """Residual block; with ``up=2`` its first layer is a transposed conv that doubles H and W.

    ``(B, C_in, H, W) -> (B, C_out, H*up, W*up)``.
    """

    def __init__(self, c_in: int, c_out: int, up: int = 1, norm: bool = True):
        super().__init__()
        if up == 2:
            first = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=not norm)
        elif up == 1:
            first = nn.Conv2d(c_in, c_out, 3, 1, 1, bias=not norm)
        else:
            raise ValueError(f"up must be 1 or 2, got {up}")
        norm_layer = InstanceNorm if norm else (lambda c: nn.Identity())
        self.body = nn.Sequential(
            first, norm_layer(c_out), ELU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not norm), norm_layer(c_out),
        )
        if up == 1 and c_in == c_out:
            self.skip: nn.Module = nn.Identity()
        elif up == 1:
            self.skip = nn.Conv2d(c_in, c_out, 1)
        else:
            # 1x1 conv commutes with nearest upsampling: run it at the low resolution
            self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.Upsample(scale_factor=2, mode="nearest"))
        self.act = ELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class ConvGRUCell(nn.Module):
    """Convolutional GRU cell (Cho et al. 2014 with convolutions in place of matrix products).

    ``forward(x (B, C_in, H, W), h (B, C_h, H, W)) -> h' (B, C_h, H, W)``.

    The candidate state is linear, not tanh: the state starts at the object encoding sigma,
    whose values are not bounded to (-1, 1). With a tanh candidate the cell can neither hold
    nor move such features, so training shut the update gate and ignored the poke (a trained
    checkpoint gave the same video for every poke).
    """

    def __init__(self, c_in: int, c_hidden: int, kernel: int = 3):
        super().__init__()
        p = kernel // 2
        self.gates = nn.Conv2d(c_in + c_hidden, 2 * c_hidden, kernel, 1, p)
        self.candidate = nn.Conv2d(c_in + c_hidden, c_hidden, kernel, 1, p)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        reset, update = torch.sigmoid(self.gates(torch.cat([x, h], 1))).chunk(2, 1)
        cand = self.candidate(torch.cat([x, reset * h], 1))
        return h + update * (cand - h)


def upsampler(c_in: int, c_out: int, factor: int) -> nn.Module:
    """Learned upsampling between levels of the hierarchy: transposed conv for x2, conv for x1."""
    if factor == 2:
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)
    if factor == 1:
        return nn.Conv2d(c_in, c_out, 3, 1, 1)
    raise ValueError(f"levels must differ by a factor 1 or 2 in size, got {factor}")
