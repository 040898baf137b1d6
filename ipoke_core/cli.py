"""``ipoke <verb>``: the command-line face of the core library.

Every verb lives in its own module under ``ipoke_core.commands`` with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Modules import torch and friends inside
``run`` so that ``ipoke --help`` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ipoke_core.errors import UserError

VERBS = [
    "poke", "heatmap", "synth", "prepare", "train", "plot", "eval", "bench", "init-checkpoint", "info",
]


def _module(verb: str):
    return importlib.import_module("ipoke_core.commands." + verb.replace("-", "_"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipoke", description="Poke a still image and watch the object move.")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb in VERBS:
        try:
            mod = _module(verb)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("ipoke_core.commands"):
                continue  # verb not built yet
            raise
        p = sub.add_parser(verb, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"ipoke {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ipoke {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
