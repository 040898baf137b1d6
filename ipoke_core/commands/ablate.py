"""``ipoke ablate``: train and score the paper's ablation table on our data (``ipoke_core.ablation_table``).

On a GPU, every row at once::

    ipoke ablate --out runs/ablation --steps 3000 --budget-s 480

On a CPU, two rows at a time on one thread each, with data sets made before::

    ipoke ablate --out runs/ablation --data data/plants64 --test data/plants64_seed7 --jobs 2 --threads 1 \\
        --device cpu --steps 850 --set train.batch_size=8
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ipoke_core.ablation_table import AblationPlan, parse_rows, run_ablation
from ipoke_core.commands._common import add_device_argument, non_negative_int, positive_float, positive_int

HELP = ("train every row of the paper's ablation table (Tables 3-4) with the same data, seed and steps, "
        "and score them in one `ipoke eval --baselines` table")


def add_arguments(p: argparse.ArgumentParser) -> None:
    default = AblationPlan(out=Path("."))
    p.add_argument("--out", "-o", type=Path, required=True,
                   help="folder for ablation.md (the table), each row's sidecar NAME.json and ablation.tar.gz")
    p.add_argument("--preset", default=default.preset, help=f"config preset every row starts from (default {default.preset})")
    p.add_argument("--rows", default="", help="comma-separated row names (default: every row; the names are in "
                                              "ipoke_core/ablations.py, e.g. 'default (seed 0),no latent loss')")
    p.add_argument("--steps", type=positive_int, default=default.steps, help="iterations per row (stage 1 + stage 2)")
    p.add_argument("--budget-s", type=positive_float, default=default.budget_s,
                   help="seconds of training before rows are stopped (with a resumable state)")
    p.add_argument("--data", type=Path, help="an existing training set (default: generate one with ipoke synth, seed 0)")
    p.add_argument("--test", type=Path, help="an existing test set of another seed (default: generate one, seed 7)")
    p.add_argument("--clips", type=positive_int, default=default.clips, help="clips generated for training without --data")
    p.add_argument("--test-clips", type=positive_int, default=default.test_clips, help="clips generated for testing without --test")
    p.add_argument("--n-eval", type=positive_int, default=default.n_eval, help="test windows scored")
    p.add_argument("--structure-clips", type=non_negative_int, default=default.structure_clips,
                   help="test clips whose heatmaps are scored (0: none)")
    p.add_argument("--work", type=Path, default=default.work,
                   help=f"runs (and generated data) go here; a rerun keeps the rows trained already (default {default.work})")
    p.add_argument("--jobs", type=non_negative_int, default=0, help="rows trained at once (default 0: all)")
    p.add_argument("--threads", type=non_negative_int, default=0, help="torch threads per row (default 0: torch's choice)")
    p.add_argument("--train-only", action="store_true", help="train the rows, leave the table to a later call")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a config override applied to every row (repeatable)")
    add_device_argument(p)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args: argparse.Namespace) -> int:
    plan = AblationPlan(out=args.out, preset=args.preset, steps=args.steps, budget_s=args.budget_s, clips=args.clips,
                        test_clips=args.test_clips, n_eval=args.n_eval, structure_clips=args.structure_clips,
                        rows=parse_rows(args.rows), device=args.device, data=args.data, test=args.test, work=args.work,
                        jobs=args.jobs, threads=args.threads, train_only=args.train_only, overrides=args.overrides)
    table = run_ablation(plan, log=_log)
    if table is not None:
        print(f"wrote {table}")
    return 0
