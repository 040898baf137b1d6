"""The compute device and the autocast dtype: one choice for inference, training and the benchmarks."""
from __future__ import annotations

import functools
import os

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


AMP_SETTINGS = ("auto", "off", "bf16", "fp16")


CPU_BF16_ENV = "IPOKE_CPU_BF16_UNITS"  # "1" / "0": overrides what /proc/cpuinfo says


@functools.cache
def cpu_has_bf16_units() -> bool:
    """True where the CPU computes bf16 natively (AMX or AVX512-BF16; read from /proc/cpuinfo on Linux).

    Elsewhere bf16 autocast still runs, emulated, and is slower than fp32 (2026-11-26, 2-core AMD EPYC
    without either: see the README's Performance section). ``IPOKE_CPU_BF16_UNITS=1`` or ``=0`` overrides
    the detection: the test suite pins it so that no test depends on the machine's CPU, and a user
    whose CPU is misread can set it."""
    forced = os.environ.get(CPU_BF16_ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def resolve_amp(setting: str, device: torch.device, cpu_auto: bool = True) -> torch.dtype | None:
    """The autocast dtype, None for fp32.

    ``auto``: bf16 on CUDA when supported, else fp16; on the CPU bf16 where it has bf16 units (when
    ``cpu_auto``; training passes False until its loss curves are checked on such a CPU), else fp32.
    ``bf16`` / ``fp16`` force a dtype (fp16 only on CUDA); ``off`` is fp32.
    """
    if setting not in AMP_SETTINGS:
        raise ValueError(f"amp must be one of {', '.join(AMP_SETTINGS)}, got {setting!r}")
    if setting == "off":
        return None
    if device.type == "cuda":
        if setting == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return {"bf16": torch.bfloat16, "fp16": torch.float16}[setting]
    if setting == "fp16":
        raise DeviceError("fp16 autocast needs CUDA; on the CPU use bf16 or off")
    if setting == "bf16" or (cpu_auto and cpu_has_bf16_units()):
        return torch.bfloat16
    return None
