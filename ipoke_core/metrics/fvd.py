"""Fréchet Video Distance (Unterthiner et al. 2018) with a local I3D checkpoint.

Videos are resized to 224x224 (bilinear), scaled to [-1, 1] and embedded by the Kinetics-400
I3D; the embedding is the 400-d logit vector, the layer the reference (TensorFlow) FVD uses.
FVD is the Fréchet distance between Gaussians fitted to the embeddings of real and generated
videos. With few videos (N < 400) the covariances are rank-deficient: the number is still the
standard estimator, but only comparable between rows computed on the same N.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ipoke_core.metrics.frechet import frechet_distance, gaussian_stats
from ipoke_core.metrics.i3d import InceptionI3d
from ipoke_core.metrics.weights import load_into, load_state_dict_file
from ipoke_core.progress import CancelToken, check

I3D_SIZE = 224


class I3DEmbedder:
    """Loads the I3D once; ``embed(videos)`` maps ``(N, T, H, W, 3)`` uint8 to ``(N, 400)`` float64.

    ``size`` is the side frames are resized to: 224 is the standard FVD setting; smaller sizes
    are only for quick checks and give numbers not comparable with FVD elsewhere.
    """

    def __init__(self, weights: str | Path, device: str = "cpu", size: int = I3D_SIZE) -> None:
        sd = load_state_dict_file(weights, "I3D")
        sd = {k.removeprefix("module."): v for k, v in sd.items()}  # checkpoints saved from DataParallel
        classes = sd["logits.conv3d.weight"].shape[0] if "logits.conv3d.weight" in sd else 400
        self.net = InceptionI3d(num_classes=classes)
        load_into(self.net, sd, "I3D", weights)
        self.net.eval().requires_grad_(False).to(device)
        self.device = device
        self.size = size

    @torch.inference_mode()
    def embed(self, videos: np.ndarray, batch_size: int = 8, cancel: CancelToken | None = None) -> np.ndarray:
        if videos.ndim != 5 or videos.shape[-1] != 3:
            raise ValueError(f"expected videos (N, T, H, W, 3), got {videos.shape}")
        out = []
        for i in range(0, len(videos), batch_size):
            check(cancel)
            v = torch.from_numpy(np.ascontiguousarray(videos[i:i + batch_size])).to(self.device)
            n, t, h, w, _ = v.shape
            x = v.reshape(n * t, h, w, 3).permute(0, 3, 1, 2).float() / 127.5 - 1.0
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
            x = x.reshape(n, t, 3, self.size, self.size).permute(0, 2, 1, 3, 4)  # (N, 3, T, 224, 224)
            out.append(self.net(x).double().cpu())
        return torch.cat(out).numpy()


def fvd_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FVD between two sets of I3D embeddings ``(N, D)`` (N >= 2 each)."""
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))
