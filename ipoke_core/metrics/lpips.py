"""LPIPS perceptual distance (Zhang et al. 2018), VGG16 variant, from local weight files.

The network is torchvision's VGG16 convolutional trunk (architecture only, ``weights=None``)
cut after relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3, plus the LPIPS linear heads. Two files
are needed, both plain state dicts:

- VGG16 trunk weights: torchvision's ``vgg16`` state dict (keys ``features.N.weight``; classifier
  keys are ignored), or the bare trunk (``N.weight``), or the official LPIPS model's
  ``net.sliceK.N.weight`` keys.
- LPIPS linear weights in the official ``lpips`` package format (``lin0.model.1.weight`` ...
  ``lin4.model.1.weight``, shapes ``(1, C, 1, 1)``), i.e. ``lpips/weights/v0.1/vgg.pth``.

The distance: per layer, unit-normalise features along channels, square the difference, weight
channels with the linear head, average over space; sum over the five layers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from ipoke_core.metrics.frames import check_pair, to_unit_tensor
from ipoke_core.metrics.weights import WeightsError, load_into, load_state_dict_file

# the LPIPS "ScalingLayer": inputs in [-1, 1] are shifted/scaled to ImageNet statistics
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
# last module index (exclusive) of each slice in torchvision's vgg16.features
SLICE_ENDS = (4, 9, 16, 23, 30)
CHANNELS = (64, 128, 256, 512, 512)


class LPIPS(nn.Module):
    """``forward(a, b)``: ``(B, 3, H, W)`` in [-1, 1] each -> ``(B,)`` distances (0 for a == b)."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = make_layers(cfgs["D"])  # torchvision VGG16 'features', randomly initialised
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.eval().requires_grad_(False)

    @classmethod
    def from_files(cls, vgg_path: str | Path, lin_path: str | Path, device: str = "cpu") -> LPIPS:
        """Build LPIPS from the two weight files (see module doc); raises WeightsError if they do not fit."""
        model = cls()
        sd = load_state_dict_file(vgg_path, "LPIPS VGG16")
        trunk_sd: dict[str, torch.Tensor] = {}
        for k, v in sd.items():
            if k.startswith("features."):
                trunk_sd[k[len("features."):]] = v
            elif k.startswith("net.slice"):  # official lpips full model: net.slice3.12.weight
                trunk_sd[k.split(".", 2)[2]] = v
            elif k[:1].isdigit():
                trunk_sd[k] = v
        if not trunk_sd:
            raise WeightsError(f"LPIPS VGG16 weights: {vgg_path} has no VGG16 'features' keys "
                               f"(found e.g. {', '.join(list(sd)[:3]) or 'nothing'})")
        load_into(model.trunk, trunk_sd, "LPIPS VGG16", vgg_path)
        lin_sd = load_state_dict_file(lin_path, "LPIPS linear")
        mapped = {}
        for k, v in lin_sd.items():
            # "lin0.model.1.weight" (official) -> "0.weight"; also accept our own "0.weight"
            parts = k.split(".")
            if parts[0].startswith("lin") and parts[0][3:].isdigit() and parts[-1] == "weight":
                mapped[f"{parts[0][3:]}.weight"] = v
            else:
                mapped[k] = v
        load_into(model.lins, mapped, "LPIPS linear", lin_path)
        return model.to(device)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats, start = [], 0
        for end in SLICE_ENDS:
            for layer in self.trunk[start:end]:
                x = layer(x)
            feats.append(x)
            start = end
        return feats

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa = self._features((a - self.shift) / self.scale)
        fb = self._features((b - self.shift) / self.scale)
        total = torch.zeros(a.shape[0], device=a.device)
        for lin, x, y in zip(self.lins, fa, fb):
            x = x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            y = y / (y.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((x - y) ** 2).mean(dim=(1, 2, 3))
        return total


@torch.inference_mode()
def lpips_frames(model: LPIPS, pred: np.ndarray, target: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """LPIPS of every frame pair: ``(..., H, W, 3)`` uint8 (or float in [0, 1]) -> ``(...)`` float64."""
    check_pair(pred, target)
    lead = tuple(pred.shape[:-3])
    a_all, b_all = to_unit_tensor(pred), to_unit_tensor(target)
    device = next(model.parameters()).device
    out = []
    for i in range(0, a_all.shape[0], batch_size):
        a = a_all[i:i + batch_size].to(device) * 2 - 1
        b = b_all[i:i + batch_size].to(device) * 2 - 1
        out.append(model(a, b).double().cpu())
    return torch.cat(out).numpy().reshape(lead)
