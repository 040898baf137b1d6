"""``ipoke init-checkpoint``: write a randomly initialised (UNTRAINED) checkpoint to exercise the pipeline."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import non_negative_int, positive_int

HELP = "write an untrained, randomly initialised checkpoint (for testing the pipeline only)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", "-o", required=True, type=Path, help="checkpoint NAME (writes NAME.safetensors + NAME.json)")
    p.add_argument("--config", default=None, help="config preset name or TOML file (default: the shipped model)")
    p.add_argument("--resolution", type=positive_int, default=64)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace a checkpoint that already exists at --out")


def run(args: argparse.Namespace) -> int:
    import torch

    from ipoke_core.checkpoint import save_checkpoint
    from ipoke_core.paths import checkpoint_paths
    from ipoke_core.config import default_model_config, load_config
    from ipoke_core.outputs import check_outputs
    from ipoke_core.model import IPoke

    # a trained checkpoint must not be replaced by random weights without --overwrite
    check_outputs(checkpoint_paths(args.out), overwrite=args.overwrite)

    cfg = load_config(args.config).model if args.config else default_model_config(args.resolution)
    torch.manual_seed(args.seed)
    model = IPoke(cfg)
    path = save_checkpoint(args.out, model, {"trained": False, "training": {"note": "random initialisation, untrained"}})
    print(f"wrote {path} ({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters)")
    print("note: this checkpoint is UNTRAINED; its videos are noise. Train one with `ipoke train`.")
    return 0
