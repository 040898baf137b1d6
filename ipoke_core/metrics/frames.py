"""Conversion of uint8 / float frames to the float tensors the metrics compute on."""
from __future__ import annotations

import numpy as np
import torch


def to_unit_tensor(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``(..., H, W, 3)`` uint8 (or float in [0, 1]) -> ``(M, 3, H, W)`` float32 in [0, 1], M = prod(...)."""
    t = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    if t.ndim < 3 or t.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (..., H, W, 3), got {tuple(t.shape)}")
    t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
    return t.reshape(-1, *t.shape[-3:]).permute(0, 3, 1, 2).contiguous()


def check_pair(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> None:
    if tuple(pred.shape) != tuple(target.shape):
        raise ValueError(f"prediction and target differ in shape: {tuple(pred.shape)} vs {tuple(target.shape)}")
