"""``ipoke plot RUN_DIR``: draw a run's loss and validation curves to a PNG."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import finite_float

HELP = "draw the loss and validation curves of a training run (RUN_DIR/metrics.csv) to a PNG"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, help="run folder written by ipoke train --out")
    p.add_argument("--out", type=Path, help="PNG to write (default RUN_DIR/losses.png)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--smooth", type=finite_float, default=0.6, help="moving-average factor in [0, 1) for the thick lines")


def run(args: argparse.Namespace) -> int:
    from ipoke_core.errors import UserError
    from ipoke_core.outputs import check_outputs
    from ipoke_core.train.plot import plot_run

    if not 0 <= args.smooth < 1:
        raise UserError("--smooth must be in [0, 1)")
    out = args.out or args.run_dir / "losses.png"
    if out.suffix.lower() != ".png":  # never a run's metrics.csv, a checkpoint or any other kind of file
        raise UserError(f"--out {out}: the plot is a PNG image; give a name ending in .png")
    # what the plot is read from is never replaced, not even through a link named .png
    check_outputs([out], inputs=[args.run_dir / "metrics.csv", args.run_dir / "run.json"], overwrite=args.overwrite)
    print(plot_run(args.run_dir, out, smooth=args.smooth))
    return 0
