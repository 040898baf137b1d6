"""Fine-tune the bundled checkpoints on a GPU machine inside a fixed time budget.

The team's script for a lent GPU machine that has PyTorch but none of our data (it lives with the
experiment log because only the runs logged here use it; users train with ``ipoke train``)::

    python3 docs/experiments/device_finetune.py --budget-s 520 --out "$OUT"

``--dry-run`` prints the first leg's ``ipoke train`` commands and stops: check a call before spending device minutes.

With ``--from-scratch`` it trains new models instead (``--stage1-steps`` of the autoencoder first).

It generates the training sets on all CPU cores (``ipoke synth``, the same seeds and sizes as the
bundled runs), then fine-tunes every preset in ``--presets`` from ``resources/checkpoints/<preset>``
in parallel on the one GPU (``ipoke train --init-from``) with a cosine learning rate and a weight
average, so that the schedule ends where the time does: a short first leg measures the step rate,
the second leg resumes with ``train.stage2_steps`` set to what fits in the time left. The run
folders' checkpoints, logs and metrics go to ``OUT/runs.tar.gz``; then, with time to spare, GPU
timings (``ipoke bench``) to ``OUT/bench.txt``.

The checkpoints are judged afterwards, where they are bundled: ``ipoke eval --baselines`` on a test
set of another seed. Nothing here decides to bundle them.

First it checks that the Python packages training needs import on that machine (a GPU image with
PyTorch may lack a small one, e.g. ``tomli_w``): one line naming them, before any minute is spent;
carry their wheels (``pip download --no-deps --only-binary=:all: NAME``) and put them on the path.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import os
import shlex
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is docs/experiments/device_finetune.py)
KIND = {"plants64": "plant", "figures64": "figure"}


# what ``ipoke synth`` and ``ipoke train`` import, beyond the standard library
NEEDED = ("numpy", "cv2", "torch", "safetensors", "tomli_w", "tqdm", "PIL")


def missing_packages() -> list[str]:
    missing = []
    for name in NEEDED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def ipoke(*args: str) -> list[str]:
    return [sys.executable, "-m", "ipoke_core.cli", *args]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def synth_all(presets: list[str], data: Path, n: int, workers: int, pushes: int = 1, props: int = 0) -> None:
    procs = []
    for preset in presets:
        out = data / preset
        cmd = ipoke("synth", "--kind", KIND[preset], "--n", str(n), "--size", "64", "--frames", "30", "--seed", "0",
                    "--pushes", str(pushes), "--props", str(props), "--workers", str(workers), "--out", str(out),
                    "--quiet")
        procs.append(subprocess.Popen(cmd))
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"synth failed ({p.args})")


def train_args(preset: str, data: Path, runs: Path, settings: list[str], init: bool = True) -> list[str]:
    sets = []
    for s in settings:
        sets += ["--set", s]
    start = ["--init-from", str(ROOT / "resources" / "checkpoints" / preset)] if init else []
    return ipoke("train", "--config", preset, "--data", str(data / preset), "--out", str(runs / preset),
                 *start, "--quiet", *sets)


def settings_for(preset: str, overrides: list[str]) -> list[str]:
    """The ``--set`` values that apply to ``preset``: the unprefixed ones and those written ``preset:KEY=VALUE``."""
    mine = []
    for s in overrides:
        head, sep, rest = s.partition(":")
        if sep and "=" not in head:
            if head not in KIND:
                raise SystemExit(f"--set {s}: unknown preset {head!r} (one of {', '.join(KIND)})")
            if head == preset:
                mine.append(rest)
        else:
            mine.append(s)
    return mine


def steps_per_second(run: Path) -> float:
    """Stage-2 training steps per second from metrics.csv (the rows after the first, which holds start-up;
    stage-1 rows are left out: the autoencoder alone runs faster)."""
    with open(run / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("samples_per_s") and r.get("stage") == "2"]
    walls = [(int(r["step"]), float(r["wall_s"])) for r in rows]
    if len(walls) < 3:
        return 0.0
    (s0, w0), (s1, w1) = walls[1], walls[-1]
    return (s1 - s0) / max(w1 - w0, 1e-6)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--budget-s", type=float, default=520, help="seconds from start until the results are packed")
    ap.add_argument("--presets", default="plants64,figures64")
    ap.add_argument("--clips", type=int, default=2000)
    ap.add_argument("--pushes", type=int, default=1, help="clips per object (ipoke synth --pushes)")
    ap.add_argument("--props", type=int, default=0, help="static props per backdrop, at most (ipoke synth --props)")
    ap.add_argument("--probe-steps", type=int, default=150, help="first leg: stage-2 steps that measure the rate")
    ap.add_argument("--from-scratch", action="store_true",
                    help="train new models (stage 1, then stage 2) instead of fine-tuning the bundled ones")
    ap.add_argument("--stage1-steps", type=int, default=250, help="autoencoder steps with --from-scratch")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--bench", action="store_true", help="GPU timings after training, if time is left")
    ap.add_argument("--dry-run", action="store_true", help="print the first leg's commands and stop")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    help="KEY=VALUE for every preset, or PRESET:KEY=VALUE for one (e.g. figures64:data.applied_fraction=0.5)")
    args = ap.parse_args()
    missing = missing_packages()
    if missing:
        raise SystemExit(f"missing Python packages on this machine: {', '.join(missing)} (carry their wheels and "
                         "put them on PYTHONPATH; nothing was trained)")
    presets = args.presets.split(",")
    for preset in presets:  # a typo in a preset or a --set fails here, before any minute is spent
        if preset not in KIND:
            raise SystemExit(f"unknown preset {preset!r} (one of {', '.join(KIND)})")
    settings = {preset: settings_for(preset, args.overrides) for preset in presets}
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "ipoke_device"
    data, runs = work / "data", work / "runs"
    cores = os.cpu_count() or 2
    workers = max(1, min(6, cores // len(presets) - 1))
    stage1 = args.stage1_steps if args.from_scratch else 0
    base = [
        f"train.stage1_steps={stage1}", "train.stage2_steps=100000", "train.gan_warmup_steps=100000000",
        "train.lr_schedule=cosine", "train.ema_decay=0.999", f"train.num_workers={workers}",
        "train.val_every=500", "train.ckpt_every=500", "train.sample_every=1000", "train.log_every=25",
    ]
    dev = ["--device", args.device]
    # leg 1: (stage 1, then) measure the stage-2 step rate (the cosine barely moves over these steps)
    leg1 = {p: train_args(p, data, runs, base + settings[p], init=not args.from_scratch) + dev
            + ["--until-step", str(stage1 + args.probe_steps)] for p in presets}
    if args.dry_run:
        for cmd in leg1.values():
            print(shlex.join(cmd))
        return 0
    t0 = time.time()
    deadline = t0 + args.budget_s
    runs.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)

    synth_all(presets, data, args.clips, max(1, cores // len(presets)), args.pushes, args.props)
    log(f"data ready in {time.time() - t0:.0f} s")

    probes = [subprocess.Popen(cmd) for cmd in leg1.values()]
    for p in probes:
        p.wait()
    t_probe = time.time()
    rates = {p: steps_per_second(runs / p) for p in presets}
    log(f"probe done at {t_probe - t0:.0f} s; steps/s: {rates}")
    # leg 2: resume with the schedule's length set to what fits before the deadline, less packing (25 s) and the
    # resume's start-up (about 15 s: loading, workers), so that the cosine ends before --max-minutes cuts the run
    # (on an H200, 2026-11-27, the probe's rate alone overestimated leg 2 by 20 % and the run stopped at 91 %)
    left = deadline - time.time() - 25
    legs = []
    for preset in presets:
        fits = rates[preset] * (left - 15) * 0.85
        if fits < 1:  # the probe's checkpoint is still packed below
            log(f"{preset}: no more stage-2 steps fit in the {left:.0f} s left (probe rate {rates[preset]:.2f} steps/s); "
                "give a longer --budget-s or fewer --probe-steps")
            continue
        total = args.probe_steps + int(fits)
        log(f"{preset}: resuming to {total} steps (cosine to the end), {left:.0f} s left")
        cmd = ipoke("train", "--out", str(runs / preset), "--resume", "--quiet", "--set", f"train.stage2_steps={total}",
                    "--max-minutes", f"{left / 60:.3f}", *dev)
        legs.append(subprocess.Popen(cmd))
    for p in legs:
        p.wait()
    log(f"training done at {time.time() - t0:.0f} s")

    with tarfile.open(args.out / "runs.tar.gz", "w:gz") as tar:
        for preset in presets:
            run = runs / preset
            for name in ("checkpoints", "train.log", "metrics.csv", "run.json", "config.toml"):
                if (run / name).exists():
                    tar.add(run / name, arcname=f"{preset}/{name}")
            samples = sorted((run / "samples").glob("*.png"))
            if samples:
                tar.add(samples[-1], arcname=f"{preset}/samples/{samples[-1].name}")
    log(f"packed {args.out / 'runs.tar.gz'} ({(args.out / 'runs.tar.gz').stat().st_size / 1e6:.1f} MB)")

    if args.bench and deadline + 60 - time.time() > 30:
        with open(args.out / "bench.txt", "w") as f:
            for extra in ([], ["--heatmap"], ["--train"]):
                left = deadline + 60 - time.time()
                if left < 15:
                    break
                try:
                    subprocess.run(ipoke("bench", *dev, *extra), stdout=f, stderr=subprocess.STDOUT, timeout=left)
                except subprocess.TimeoutExpired:
                    f.write(f"(ipoke bench {' '.join(extra)} stopped at the time limit)\n")
        log(f"bench done at {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
