"""Argument helpers shared by the CLI verbs."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.paths import DEFAULT_CHECKPOINT


def add_checkpoint_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", "-c", type=Path, default=DEFAULT_CHECKPOINT,
                   help="checkpoint NAME (NAME.safetensors + NAME.json); default: the bundled plants64")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda[:N]")


def parse_int_list(text: object, option: str, example: str, error: type[Exception]) -> tuple[int, ...]:
    """The comma-separated integers of ``option``'s value ``text`` (empty items skipped).

    Raises ``error`` (the verb's own ``UserError``) saying ``expected integers like {example}``.
    """
    try:
        return tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise error(f"{option} {text!r}: expected integers like {example}") from None


def load_poker(args: argparse.Namespace):
    """Load the checkpoint named by ``--checkpoint``, telling the user when it is untrained."""
    import sys

    from ipoke_core.inference import Poker

    poker = Poker.from_checkpoint(args.checkpoint, args.device)
    if not poker.trained:
        print(f"warning: {args.checkpoint} is an UNTRAINED (randomly initialised) checkpoint: its videos are noise",
              file=sys.stderr)
    return poker
