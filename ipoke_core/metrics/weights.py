"""Loading network weights (the metrics' networks, the VGG of the perceptual loss) from local files, with clear errors.

Accepted formats: ``.safetensors``, or a PyTorch ``state_dict`` file (``.pth``/``.pt``) read with
``torch.load(weights_only=True)``, which never runs pickled code.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ipoke_core.errors import UserError


class WeightsError(UserError, ValueError):
    """A weights file is missing, unreadable or does not fit the network."""


def load_state_dict_file(path: str | Path, what: str, error: type[WeightsError] = WeightsError,
                         expected: str = "") -> dict[str, torch.Tensor]:
    """Read a state dict from ``path`` (a ``{"state_dict": ...}`` wrapper is unwrapped).

    ``what`` names the weights in error messages, ``expected`` (e.g. ``" (expected ...)"``) is added to
    the message of a file that is not a state dict; failures raise ``error``.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} weights file {path} does not exist (no such file)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any decoding failure means "not a weights file"
        first = str(e).splitlines()[0] if str(e) else ""
        raise error(f"cannot read {what} weights {path}: not a readable state dict ({type(e).__name__}: {first})"
                    f"{expected}") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise error(f"{what} weights {path}: not a state dict of tensors{expected}")
    return sd


def load_into(module: nn.Module, sd: dict[str, torch.Tensor], what: str, path: str | Path,
              optional: tuple[str, ...] = ("num_batches_tracked",)) -> None:
    """Load ``sd`` into ``module``, naming missing, unexpected and mis-shaped keys on failure.

    Keys ending in one of ``optional`` may be absent from the file.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith(optional)]
    unexpected = [k for k in sd if k not in own]
    wrong = [f"{k} {tuple(sd[k].shape)} != {tuple(own[k].shape)}" for k in own if k in sd and sd[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                more = f" (+{len(keys) - 3} more)" if len(keys) > 3 else ""
                parts.append(f"{label}: {', '.join(keys[:3])}{more}")
        raise WeightsError(f"{what} weights: {path} does not fit the network; " + "; ".join(parts))
    module.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False)
