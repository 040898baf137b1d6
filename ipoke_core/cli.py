"""``ipoke <verb>``: the command-line face of the core library.

Every verb lives in its own module under ``ipoke_core.commands`` with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Modules import torch and friends inside
``run`` so that ``ipoke --help`` stays instant.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

from ipoke_core.commands import (
    ablate,
    bench,
    check_photo,
    derive,
    heatmap,
    info,
    init_checkpoint,
    parts,
    plot,
    poke,
    prepare,
    synth,
    train,
)
from ipoke_core.commands import eval as eval_
from ipoke_core.errors import UserError

# every verb and its module, in the order ``ipoke --help`` lists them
VERBS = {
    "poke": poke, "heatmap": heatmap, "parts": parts, "check-photo": check_photo, "synth": synth, "prepare": prepare,
    "train": train, "plot": plot, "eval": eval_, "ablate": ablate, "bench": bench, "init-checkpoint": init_checkpoint,
    "derive": derive, "info": info,
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other ``ipoke VERB: error: ...``.

    argparse's default prints the whole usage block first; a bad value deserves one clear line
    (exit 2), and ``--help`` is one flag away.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ipoke", description="Poke a still image and watch the object move.")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb, mod in VERBS.items():
        p = sub.add_parser(verb, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


_PAIR = re.compile(r"^-?(\d+\.?\d*|\.\d+|nan|inf),\s*-?(\d+\.?\d*|\.\d+|nan|inf)$", re.IGNORECASE)


def _join_negative_pairs(argv: list[str]) -> list[str]:
    """Let users write ``--by -4,4``: argparse would take ``-4,4`` for an option, so glue it to its flag."""
    out: list[str] = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and token.startswith("-") and _PAIR.match(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(_join_negative_pairs(sys.argv[1:] if argv is None else argv))
    except SystemExit as e:  # --help, or a bad argument (already reported): the same status for callers of main()
        return e.code if isinstance(e.code, int) else 2
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
