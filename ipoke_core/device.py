"""The compute device and the autocast dtype: one choice for inference, training and the benchmarks."""
from __future__ import annotations

import torch

from ipoke_core.errors import UserError


class DeviceError(UserError):
    """The requested device is unknown or not available on this machine."""


def resolve_device(device: str | torch.device = "auto", local_rank: int | None = None) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> a torch device; ``auto`` is CUDA when available.

    ``local_rank`` (torchrun) gives every process its own GPU: plain ``cuda`` becomes
    ``cuda:(local_rank % device count)``. Raises DeviceError for an unknown device, a device the
    model does not run on (mps, meta, ...), CUDA without CUDA, or a GPU index past the last one.
    """
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown device {str(device)!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type not in ("cpu", "cuda"):  # mps, meta, ...: the model runs on neither here
        raise DeviceError(f"device {str(device)!r} is not supported: use auto, cpu, cuda or cuda:N")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device {device}: CUDA is not available on this machine (use --device cpu)")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceError(f"--device {dev}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "cuda" and dev.index is None and local_rank is not None:
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return dev


def resolve_amp(setting: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: bf16 on CUDA when supported, else fp16; None (fp32) on the CPU or ``off``."""
    if device.type != "cuda" or setting == "off":
        return None
    if setting == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[setting]
