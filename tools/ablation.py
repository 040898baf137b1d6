"""The paper's ablation table (Tables 3-4) on our data, every row with the same step budget (issue 13).

On a lent GPU machine, in one call (every row trains at once: the small presets leave most of an
H100/H200 idle)::

    python3 tools/ablation.py --out "$OUT" --steps 3000 --budget-s 480

On a CPU, two rows at a time on one thread each, with data sets made before::

    python3 tools/ablation.py --out ablation/plants64 --data data/plants64 --test data/plants64_seed7 \
        --jobs 2 --threads 1 --device cpu --steps 850 --set train.batch_size=8 ...

Without ``--data``/``--test`` it generates the training set and a test set of another seed
(``ipoke synth``). Every row has the same data, seed and number of iterations; then all rows are
scored in one ``ipoke eval --baselines --ablation ...`` table. Rows (``--set`` overrides of the
preset, README "Ablations and overrides"): the default twice (seeds 0 and 1: the run-to-run
spread), a single ConvGRU, depth K 1, 2, 4, no latent loss, single-stage training, the paper's pixel
decoder, and the poke only through phi. ``OUT/ablation.md`` holds the table, ``OUT/NAME.json``
each row's sidecar, ``OUT/ablation.tar.gz`` the checkpoints and logs. A row that would overrun
``--budget-s`` is stopped with a resumable state and marked in the table by its step.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from device_finetune import KIND, ipoke, log  # noqa: E402  (a sibling script, not a package)

from ipoke_core.ablations import ABLATIONS  # noqa: E402


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def finished(run: Path) -> bool:
    """Whether ``run`` holds a last checkpoint of its full step budget (a rerun skips such rows)."""
    try:
        training = json.loads((run / "checkpoints" / "last.json").read_text())["training"]
        return training["steps"] >= training["total_steps"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--preset", default="plants64", choices=sorted(KIND))
    ap.add_argument("--steps", type=int, default=3000, help="iterations per row (stage 1 + stage 2, preset shares)")
    ap.add_argument("--budget-s", type=float, default=480, help="seconds of training before rows are stopped")
    ap.add_argument("--clips", type=int, default=2000)
    ap.add_argument("--test-clips", type=int, default=1000)
    ap.add_argument("--n-eval", type=int, default=100, help="test windows scored")
    ap.add_argument("--structure-clips", type=int, default=48, help="test clips whose heatmaps are scored")
    ap.add_argument("--rows", default="", help="comma-separated subset of the row names (default all)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data", type=Path, help="an existing training set (skips synth)")
    ap.add_argument("--test", type=Path, help="an existing test set of another seed (skips synth)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/ipoke_ablation"), help="runs (and generated data) go here")
    ap.add_argument("--jobs", type=int, default=0, help="rows trained at once (default: all)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per row (default: torch's choice)")
    ap.add_argument("--train-only", action="store_true", help="train the rows, leave the table to a later call")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="applied to every row")
    args = ap.parse_args()
    t0 = time.time()
    runs = args.work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    data, test = args.data or args.work / "data", args.test or args.work / "test"
    kind = KIND[args.preset]
    synth = [subprocess.Popen(ipoke("synth", "--kind", kind, "--n", str(n), "--size", "64", "--frames", "30",
                                    "--seed", str(seed), "--workers", "7", "--out", str(folder), "--quiet"))
             for folder, n, seed, given in ((data, args.clips, 0, args.data), (test, args.test_clips, 7, args.test))
             if given is None]
    if any(p.wait() for p in synth):
        raise SystemExit("synth failed")
    log(f"data ready in {time.time() - t0:.0f} s")

    rows = {k: v for k, v in ABLATIONS.items() if not args.rows or k in args.rows.split(",")}
    common = ["train.gan_warmup_steps=100000000", "train.num_workers=1", "train.val_every=1000000",
              "train.sample_every=1000000", "train.ckpt_every=500", *args.overrides]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}))
    jobs = args.jobs or len(rows)
    waiting, running = list(rows.items()), {}
    while waiting or running:
        while waiting and len(running) < jobs:
            name, sets = waiting.pop(0)
            if finished(runs / slug(name)):
                log(f"{name}: trained already, kept")
                continue
            # A row started late gets the time that is left, so the whole table keeps to --budget-s.
            left_min = max(0.5, (t0 + args.budget_s - time.time()) / 60)
            cmd = ipoke("train", "--config", args.preset, "--data", str(data), "--out", str(runs / slug(name)),
                        "--steps", str(args.steps), "--max-minutes", f"{left_min:.2f}", "--quiet",
                        "--device", args.device)
            for s in [*common, *sets]:
                cmd += ["--set", s]
            log(f"{name}: started")
            running[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
        time.sleep(1)
        for name, p in list(running.items()):
            if p.poll() is not None:
                log(f"{name}: exit {p.returncode}")
                del running[name]
    log(f"training done at {time.time() - t0:.0f} s")
    if args.train_only:
        return 0

    first, *others = [name for name in rows if (runs / slug(name) / "checkpoints" / "last.json").is_file()]
    cmd = ipoke("eval", "-c", str(runs / slug(first) / "checkpoints" / "last"), "-d", str(test), "--baselines",
                "--n-clips", str(args.n_eval), "--structure-clips", str(args.structure_clips), "--device", args.device,
                "--out", str(args.out / "eval"))
    for name in others:
        cmd += ["--ablation", f"{name}={runs / slug(name) / 'checkpoints' / 'last'}"]
    with open(args.out / "ablation.md", "w") as f, open(args.out / "eval.log", "w") as progress:
        f.write(f"first row (iPoke (last)): {first}; every row {args.steps} iterations of {args.preset} "
                "(see each NAME.json's training section)\n\n")
        f.flush()
        subprocess.run(cmd, stdout=f, stderr=progress)
    for name in rows:  # each row's sidecar (training command, steps, wall time) beside the table
        sidecar = runs / slug(name) / "checkpoints" / "last.json"
        if sidecar.is_file():
            shutil.copyfile(sidecar, args.out / f"{slug(name)}.json")
    with tarfile.open(args.out / "ablation.tar.gz", "w:gz") as tar:
        for name in rows:
            run = runs / slug(name)
            for part in ("checkpoints/last.json", "checkpoints/last.safetensors", "train.log", "metrics.csv"):
                if (run / part).exists():
                    tar.add(run / part, arcname=f"{slug(name)}/{part}")
    log(f"done at {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
