"""``ipoke init-checkpoint``: write a randomly initialised (UNTRAINED) checkpoint to exercise the pipeline."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ipoke_core.commands._common import positive_int, seed_int
from ipoke_core.config import ModelConfig

HELP = "write an untrained, randomly initialised checkpoint (for testing the pipeline only)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", "-o", required=True, type=Path, help="checkpoint NAME (writes NAME.safetensors + NAME.json)")
    p.add_argument("--config", default=None, help="config preset name or TOML file (default: the shipped model)")
    p.add_argument("--resolution", type=positive_int, default=None,
                   help="model size in pixels (default 64, or the config's); with --config the encoder keeps its "
                        "layers and the bottleneck and poke scale grow with it")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace a checkpoint that already exists at --out")


def at_resolution(cfg: ModelConfig, resolution: int) -> ModelConfig:
    """``cfg`` at another resolution: the same layers (bottleneck scaled alike) and the poke scale, which is
    in model pixels, scaled with it; the result is validated by the caller."""
    factor = resolution / cfg.resolution
    bottleneck = max(1, round(cfg.bottleneck * factor))
    return dataclasses.replace(cfg, resolution=resolution, bottleneck=bottleneck, poke_scale=cfg.poke_scale * factor)


def run(args: argparse.Namespace) -> int:
    import torch

    from ipoke_core.checkpoint import save_checkpoint
    from ipoke_core.paths import checkpoint_paths
    from ipoke_core.config import default_model_config, load_config
    from ipoke_core.outputs import check_outputs
    from ipoke_core.model import IPoke

    # a trained checkpoint must not be replaced by random weights without --overwrite
    check_outputs(checkpoint_paths(args.out), overwrite=args.overwrite)

    if args.config:
        cfg = load_config(args.config).model
        if args.resolution is not None:
            cfg = at_resolution(cfg, args.resolution)
    else:
        cfg = default_model_config(args.resolution or 64)
    cfg.validate()  # sizes and the memory they imply, before anything is built
    torch.manual_seed(args.seed)
    model = IPoke(cfg)
    path = save_checkpoint(args.out, model, {"trained": False, "training": {"note": "random initialisation, untrained"}})
    print(f"wrote {path} ({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters)")
    print("note: this checkpoint is UNTRAINED; its videos are noise. Train one with `ipoke train`.")
    return 0
