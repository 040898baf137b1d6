"""Argument helpers shared by the CLI verbs.

The ``type=`` helpers below turn a bad number into a one-line argparse error (exit 2) before any
work starts: a negative batch size, a NaN frame rate or a zero interval must never reach the core,
where they give a traceback or, worse, a silently wrong result.
"""
from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path

from ipoke_core.paths import DEFAULT_CHECKPOINT

# the devices every verb understands; anything else (mps, meta, typos) is refused up front
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """``type=`` for counts and sizes: an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """``type=`` for seeds and optional counts (0 = none/all): an integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


# the largest seed every random generator takes (NumPy's legacy seeding stops at 2**32 - 1; torch at 2**64 - 1)
MAX_SEED = 2**32 - 1


def seed_int(text: str) -> int:
    """``type=`` for ``--seed``: a whole number in [0, 2**32 - 1]."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}, got {value}")
    return value


def _bounded(convert: Callable[[str], float], lo: float, hi: float) -> Callable[[str], float]:
    """A ``type=`` that converts with ``convert`` and refuses values outside ``[lo, hi]``."""
    def parse(text: str) -> float:
        value = convert(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo:g} and {hi:g}, got {text}")
        return value

    return parse


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """``type=`` for a bounded integer such as an upscale factor: ``lo <= value <= hi``."""
    return _bounded(_int, lo, hi)


def finite_float(text: str) -> float:
    """``type=`` for any real number; NaN and infinities are refused."""
    return _float(text)


def positive_float(text: str) -> float:
    """``type=`` for rates and durations (fps, minutes): a finite number > 0."""
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def length_range(text: str) -> tuple[float, float]:
    """``type=`` for a range of lengths ``LO,HI``: two finite numbers with ``0 < LO < HI``."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers LO,HI like 0.1,4.2, got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise argparse.ArgumentTypeError(f"needs 0 < LO < HI, got {text!r}")
    return lo, hi


def float_in(lo: float, hi: float) -> Callable[[str], float]:
    """``type=`` for a bounded real number: ``lo <= value <= hi``."""
    return _bounded(_float, lo, hi)


def device(text: str) -> str:
    """``type=`` for ``--device``: auto, cpu, cuda or cuda:N (whether CUDA exists is checked on use)."""
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}: use auto, cpu, cuda or cuda:N")
    return text


def add_device_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", type=device, default="auto", help="auto (CUDA if available), cpu or cuda[:N]")


def add_checkpoint_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", "-c", type=Path, default=DEFAULT_CHECKPOINT,
                   help="checkpoint NAME (NAME.safetensors + NAME.json); default: the bundled plants64")
    add_allow_unverified_argument(p)
    add_device_argument(p)
    add_amp_argument(p)


def add_image_argument(p: argparse.ArgumentParser, what: str = "image file", required: bool = True) -> None:
    """``--image/-i``: the one picture a command reads (any size; every format OpenCV reads)."""
    p.add_argument("--image", "-i", required=required, type=Path, help=f"{what} (any size; png, jpg, ...)")


def add_amp_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--amp", choices=("auto", "off", "bf16"), default="auto",
                   help="autocast: auto = bf16 on a GPU and on CPUs with bf16 units (AMX/AVX512-BF16), else fp32; "
                        "off = fp32; bf16 = force it (emulated, slower, on other CPUs)")


def add_allow_unverified_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-unverified", action="store_true",
                   help="load a checkpoint whose sidecar records no weights checksum (its weights are NOT verified)")


def allow_unverified(args: argparse.Namespace) -> bool:
    """Whether ``--allow-unverified`` was given; when it was, says loudly what that gives up."""
    import sys

    if not getattr(args, "allow_unverified", False):
        return False
    print("warning: --allow-unverified: a checkpoint without a weights checksum is loaded UNVERIFIED; "
          "truncated, corrupt or tampered weights will not be detected", file=sys.stderr)
    return True


def parse_int_list(text: object, option: str, example: str, error: type[Exception]) -> tuple[int, ...]:
    """The comma-separated integers of ``option``'s value ``text`` (empty items skipped).

    Raises ``error`` (the verb's own ``UserError``) saying ``expected integers like {example}``.
    """
    try:
        return tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise error(f"{option} {text!r}: expected integers like {example}") from None


def load_poker(args: argparse.Namespace):
    """The checkpoint of ``--checkpoint`` on ``--device`` (``inference.load_poker``); a warning on stderr
    when it is untrained."""
    import sys

    from ipoke_core.inference import load_poker as load

    return load(args.checkpoint, args.device, allow_unverified(args),
                warn=lambda message: print(f"warning: {message}", file=sys.stderr), amp=args.amp)
