"""``ipoke info``: describe a checkpoint (config, training summary, data statistics)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ipoke_core.paths import DEFAULT_CHECKPOINT

HELP = "show what a checkpoint is: model config, whether and how it was trained"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, nargs="?", default=DEFAULT_CHECKPOINT)
    p.add_argument("--json", action="store_true", help="print the whole sidecar as JSON")


def run(args: argparse.Namespace) -> int:
    from ipoke_core.checkpoint import load_checkpoint

    model, meta = load_checkpoint(args.checkpoint)  # full load: also verifies the weights
    if args.json:
        print(json.dumps(meta, indent=2, sort_keys=True))
        return 0
    m = meta["model"]
    print(f"checkpoint   {args.checkpoint}")
    print(f"trained      {'yes' if meta.get('trained') else 'NO (random initialisation)'}")
    print(f"model        {m['resolution']}x{m['resolution']}, channels {m['channels']}, bottleneck {m['bottleneck']}, "
          f"depth K={m['depth']}, dynamics={m['dynamics']}, poke={m['poke_mode']}, T={m['seq_len']}")
    print(f"parameters   {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M")
    for key, value in sorted(meta.get("training", {}).items()):
        print(f"training.{key:<14} {value}")
    for key, value in sorted(meta.get("data_stats", {}).items()):
        print(f"data.{key:<18} {value}")
    return 0
