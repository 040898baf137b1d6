"""Validation during training: a few fixed held-out batches, scored with ``ipoke eval``'s PSNR and SSIM,
L1, the autoencoder's L1, background motion and a perceptual distance (LPIPS when its weights are given)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ipoke_core.config import Config
from ipoke_core.inference import to_uint8
from ipoke_core.metrics import psnr, ssim
from ipoke_core.train.engine import Batch, Engine
from ipoke_core.train.losses import flow_loss
from ipoke_core.train.options import TrainingError
from ipoke_core.train.training_data import open_dataset

# (generated, target) frames, each (N, 3, R, R) in [-1, 1] -> a scalar distance
Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def validation_distance(perceptual: Distance, perceptual_name: str, vgg_weights: Path | None,
                        lpips_weights: Path | None, device: torch.device) -> tuple[Distance, str]:
    """``(distance, its name)``: LPIPS when its weights are given, else the training perceptual distance."""
    if lpips_weights is None:
        return perceptual, perceptual_name
    if vgg_weights is None:
        raise TrainingError("--lpips-weights needs --vgg-weights (the LPIPS VGG16 trunk)")
    from ipoke_core.metrics.lpips import LPIPS

    lp = LPIPS.from_files(vgg_weights, lpips_weights, device=str(device))
    return (lambda a, b: lp(a, b).mean()), "lpips"


def load_val_batches(data_dir: Path, cfg: Config) -> tuple[list[dict], str]:
    """``(batches, split)``: the first ``val_batches`` batches of the test split (the training split when
    the test split is empty), loaded once so every validation scores the same clips."""
    val_set = open_dataset(data_dir, cfg, "test", train=False)
    split = "test"
    if len(val_set) == 0:
        val_set = open_dataset(data_dir, cfg, "train", train=False)
        split = "train (the test split is empty)"
    loader = DataLoader(val_set, batch_size=min(cfg.train.batch_size, 16), shuffle=False, num_workers=0)
    out = []
    for i, items in enumerate(loader):
        if i >= max(1, cfg.train.val_batches):
            break
        out.append(items)
    return out, split


def validate(engine: Engine, batches: list[dict], distance: Distance, device: torch.device) -> dict[str, float]:
    """Mean scores over ``batches``: ``val_metric`` (``distance``), ``val_l1``, ``val_psnr``, ``val_ssim``,
    ``val_ae_l1``, ``val_flow`` (a motion-predicting model with flow targets) and ``val_bg_motion`` (mean
    change of background-poked videos, which should stay still; when a batch has such pokes).

    ``engine.generate(batch)`` gives the videos ``(B, T, 3, R, R)`` and their flow (or None);
    ``engine.reconstruct(source)`` the autoencoded ``(B, 3, R, R)`` source frames.
    """
    sums: dict[str, float] = {}
    n_bg = 0
    bg_motion = 0.0
    for items in batches:
        batch = Batch.from_items(items, device, engine.channels_last)
        video, flow = engine.generate(batch)
        b, t = video.shape[:2]
        gen = video.reshape(b * t, *video.shape[2:])
        tgt = batch.frames.reshape(b * t, *batch.frames.shape[2:]).float()
        with torch.inference_mode():
            dist = float(distance(gen, tgt))
            rec = engine.reconstruct(batch.source)
            # PSNR and SSIM as `ipoke eval` computes them: the metrics package on uint8 frames
            gen8, tgt8 = to_uint8(gen), to_uint8(tgt)
            vals = {
                "val_metric": dist,
                "val_l1": float((gen - tgt).abs().mean()),
                "val_psnr": float(psnr(gen8, tgt8).mean()),
                "val_ssim": float(ssim(gen8, tgt8).mean()),
                "val_ae_l1": float((rec - batch.source.float()).abs().mean()),
            }
            if flow is not None and batch.flow is not None:
                vals["val_flow"] = float(flow_loss(flow, batch.flow))
            bg = batch.background.bool()
            if bg.any():
                moved = (video[bg] - batch.source[bg].float()[:, None]).abs().mean(dim=(1, 2, 3, 4))
                bg_motion += float(moved.sum())
                n_bg += int(bg.sum())
        for k, v in vals.items():
            sums[k] = sums.get(k, 0.0) + v
    out = {k: v / max(1, len(batches)) for k, v in sums.items()}
    if n_bg:
        out["val_bg_motion"] = bg_motion / n_bg
    return out
