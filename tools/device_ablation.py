"""The paper's ablation table (Tables 3-4) on our data, every row with the same step budget (issue 13).

Meant for a lent GPU machine, in one call::

    python3 tools/device_ablation.py --out "$OUT" --steps 3000 --budget-s 480

It generates the training set and a test set of another seed (``ipoke synth``), trains every row
from scratch at once on the one GPU (the small presets leave most of an H100/H200 idle), each with
the same data, seed and number of iterations, then scores all rows in one ``ipoke eval --baselines
--ablation ...`` table. Rows (``--set`` overrides of the preset, README "Ablations and overrides"):
the default twice (seeds 0 and 1: the run-to-run spread), a single ConvGRU, depth K 1, 2, 4, no
latent loss, single-stage training, the paper's pixel decoder, and the poke only through phi.
``OUT/ablation.md`` holds the table, ``OUT/ablation.tar.gz`` the checkpoints and logs. A row that
would overrun ``--budget-s`` is stopped with a resumable state and marked in the table by its step.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from device_finetune import KIND, ipoke, log  # noqa: E402  (a sibling script, not a package)

ROWS: dict[str, list[str]] = {
    "default (seed 0)": [],
    "default (seed 1)": ["train.seed=1"],
    "single GRU (RNN)": ["model.dynamics=single_gru"],
    "depth K 1": ["model.depth=1"],
    "depth K 2": ["model.depth=2"],
    "depth K 4": ["model.depth=4"],
    "no latent loss": ["train.use_latent_loss=false"],
    "single stage": ["train.schedule=single_stage"],
    "pixel decoder (paper)": ["model.decoder=pixel", "train.w_flow=0"],
    "poke only through phi": ["model.poke_every_level=false", "model.poke_gain=1"],
}


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--preset", default="plants64", choices=sorted(KIND))
    ap.add_argument("--steps", type=int, default=3000, help="iterations per row (stage 1 + stage 2, preset shares)")
    ap.add_argument("--budget-s", type=float, default=480, help="seconds of training before rows are stopped")
    ap.add_argument("--clips", type=int, default=2000)
    ap.add_argument("--test-clips", type=int, default=1000)
    ap.add_argument("--n-eval", type=int, default=100, help="test windows scored")
    ap.add_argument("--rows", default="", help="comma-separated subset of the row names (default all)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="applied to every row")
    args = ap.parse_args()
    t0 = time.time()
    work = Path("/tmp/ipoke_ablation")
    data, test, runs = work / "data", work / "test", work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    kind = KIND[args.preset]
    synth = [subprocess.Popen(ipoke("synth", "--kind", kind, "--n", str(n), "--size", "64", "--frames", "30",
                                    "--seed", str(seed), "--workers", "7", "--out", str(folder), "--quiet"))
             for folder, n, seed in ((data, args.clips, 0), (test, args.test_clips, 7))]
    if any(p.wait() for p in synth):
        raise SystemExit("synth failed")
    log(f"data ready in {time.time() - t0:.0f} s")

    rows = {k: v for k, v in ROWS.items() if not args.rows or k in args.rows.split(",")}
    common = ["train.gan_warmup_steps=100000000", "train.num_workers=1", "train.val_every=1000000",
              "train.sample_every=1000000", "train.ckpt_every=500", *args.overrides]
    left_min = max(0.5, (t0 + args.budget_s - time.time()) / 60)
    procs = {}
    for name, sets in rows.items():
        cmd = ipoke("train", "--config", args.preset, "--data", str(data), "--out", str(runs / slug(name)),
                    "--steps", str(args.steps), "--max-minutes", f"{left_min:.2f}", "--quiet", "--device", args.device)
        for s in [*common, *sets]:
            cmd += ["--set", s]
        procs[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    for name, p in procs.items():
        log(f"{name}: exit {p.wait()}")
    log(f"training done at {time.time() - t0:.0f} s")

    first, *others = [name for name in rows if (runs / slug(name) / "checkpoints" / "last.json").is_file()]
    cmd = ipoke("eval", "-c", str(runs / slug(first) / "checkpoints" / "last"), "-d", str(test), "--baselines",
                "--n-clips", str(args.n_eval), "--structure-clips", "48", "--device", args.device,
                "--out", str(args.out / "eval"))
    for name in others:
        cmd += ["--ablation", f"{name}={runs / slug(name) / 'checkpoints' / 'last'}"]
    with open(args.out / "ablation.md", "w") as f:
        f.write(f"first row: {first}; every row {args.steps} iterations of {args.preset} (see each train.log)\n\n")
        f.flush()
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
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
