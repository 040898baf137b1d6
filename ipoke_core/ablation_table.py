"""Train and score the paper's ablation table (Tables 3-4) on our data: ``ipoke ablate``.

Every row of ``ipoke_core.ablations.ABLATIONS`` is trained with the same data, seed and number of
iterations, then all rows are scored in one ``ipoke eval --baselines --ablation ...`` table. Rows
run as separate ``ipoke train`` processes, several at once (the small presets leave most of a GPU
idle; on a CPU give ``jobs`` and ``threads``), so one failing row stops only itself. A row whose run
folder already holds its full step budget is kept, so an interrupted table resumes where it stopped.

``OUT/ablation.md`` holds the table, ``OUT/NAME.json`` each row's sidecar (training command, steps,
wall time), ``OUT/ablation.tar.gz`` the checkpoints and logs.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ipoke_core.ablations import ABLATIONS
from ipoke_core.errors import UserError

# the synthetic kind each preset is trained on (``ipoke synth --kind``), for making data when none is given
SYNTH_KIND = {"plants64": "plant", "plants128": "plant", "figures64": "figure"}

# the same for every row: no adversarial phase, no validation or sample grids (they cost time, not rows)
COMMON_SETTINGS = ["train.gan_warmup_steps=100000000", "train.num_workers=1", "train.val_every=1000000",
                   "train.sample_every=1000000", "train.ckpt_every=500"]


@dataclass
class AblationPlan:
    """What ``ipoke ablate`` trains and scores; the fields are its options."""

    out: Path
    preset: str = "plants64"
    steps: int = 3000
    budget_s: float = 480.0
    clips: int = 2000
    test_clips: int = 1000
    n_eval: int = 100
    structure_clips: int = 48
    rows: list[str] = field(default_factory=lambda: list(ABLATIONS))
    device: str = "auto"
    data: Path | None = None
    test: Path | None = None
    work: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "ipoke_ablation")
    jobs: int = 0  # rows trained at once; 0 = all
    threads: int = 0  # torch threads per row; 0 = torch's choice
    train_only: bool = False
    overrides: list[str] = field(default_factory=list)


def parse_rows(text: str) -> list[str]:
    """The row names of a comma-separated ``--rows`` value (empty: every row), in the table's order."""
    if not text.strip():
        return list(ABLATIONS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ABLATIONS]
    if unknown:
        raise UserError(f"--rows: unknown row {unknown[0]!r}; the rows are: {', '.join(ABLATIONS)}")
    return [name for name in ABLATIONS if name in names]


def slug(name: str) -> str:
    """A row's folder and file name: ``default (seed 0)`` -> ``default__seed_0``."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def ipoke(*args: str) -> list[str]:
    """The command line of ``ipoke ARGS`` in this Python (works without the console script on the path)."""
    return [sys.executable, "-m", "ipoke_core.cli", *args]


def finished(run: Path) -> bool:
    """Whether ``run`` holds a last checkpoint of its full step budget (a rerun keeps such rows)."""
    try:
        training = json.loads((run / "checkpoints" / "last.json").read_text())["training"]
        return training["steps"] >= training["total_steps"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def check_plan(plan: AblationPlan) -> None:
    """Refuse what would fail later, before any minute is spent: every row's config must build, and
    data must be given or the preset's synthetic kind known."""
    from ipoke_core.config import apply_overrides, config_from_dict, load_config

    base = load_config(plan.preset).to_dict()
    for name in plan.rows:
        try:
            config_from_dict(apply_overrides(copy.deepcopy(base), [*COMMON_SETTINGS, *plan.overrides, *ABLATIONS[name]]))
        except UserError as e:
            raise UserError(f"row {name!r}: {e}") from None
    if (plan.data is None or plan.test is None) and plan.preset not in SYNTH_KIND:
        raise UserError(f"--preset {plan.preset}: no synthetic kind to generate its data from; give --data and --test "
                        f"(or use one of {', '.join(SYNTH_KIND)})")
    for flag, folder in (("--data", plan.data), ("--test", plan.test)):
        if folder is not None and not (folder / "dataset.json").is_file():
            raise UserError(f"{flag} {folder}: not a data set (no dataset.json; make one with ipoke synth or ipoke prepare)")
    if plan.out.exists() and not plan.out.is_dir():
        raise UserError(f"--out {plan.out} is a file; give a folder")


def _synth(plan: AblationPlan, data: Path, test: Path, log: Callable[[str], None]) -> None:
    """Generate the training set (seed 0) and a test set of another seed (7) where none was given."""
    from ipoke_core.config import load_config

    size = str(load_config(plan.preset).model.resolution)
    kind = SYNTH_KIND.get(plan.preset, "")
    procs = [subprocess.Popen(ipoke("synth", "--kind", kind, "--n", str(n), "--size", size, "--frames", "30",
                                    "--seed", str(seed), "--workers", str(max(1, (os.cpu_count() or 2) // 2)),
                                    "--out", str(folder), "--quiet"))
             for folder, n, seed, given in ((data, plan.clips, 0, plan.data), (test, plan.test_clips, 7, plan.test))
             if given is None]
    if any(p.wait() for p in procs):
        raise UserError("ipoke synth failed (its error is above); nothing was trained")
    log("data ready")


def _train_rows(plan: AblationPlan, data: Path, runs: Path, t0: float, log: Callable[[str], None]) -> None:
    """Train the rows, ``plan.jobs`` at once; a row started late gets the time that is left, so the
    whole table keeps to ``plan.budget_s`` (a row cut short keeps a resumable state and its step)."""
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(plan.threads)} if plan.threads else {}))
    jobs = plan.jobs or len(plan.rows)
    waiting, running = list(plan.rows), {}
    while waiting or running:
        while waiting and len(running) < jobs:
            name = waiting.pop(0)
            if finished(runs / slug(name)):
                log(f"{name}: trained already, kept")
                continue
            left_min = max(0.5, (t0 + plan.budget_s - time.time()) / 60)
            cmd = ipoke("train", "--config", plan.preset, "--data", str(data), "--out", str(runs / slug(name)),
                        "--steps", str(plan.steps), "--max-minutes", f"{left_min:.2f}", "--quiet",
                        "--device", plan.device)
            for setting in [*COMMON_SETTINGS, *plan.overrides, *ABLATIONS[name]]:
                cmd += ["--set", setting]
            log(f"{name}: started")
            running[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
        time.sleep(0.2)
        for name, proc in list(running.items()):
            if proc.poll() is not None:
                log(f"{name}: exit {proc.returncode}")
                del running[name]


def _score(plan: AblationPlan, test: Path, runs: Path) -> Path:
    """One ``ipoke eval --baselines`` table of every trained row, written to ``OUT/ablation.md``."""
    trained = [name for name in plan.rows if (runs / slug(name) / "checkpoints" / "last.json").is_file()]
    if not trained:
        raise UserError(f"no row was trained (see the exit codes above; the runs are in {runs})")
    first, *others = trained
    cmd = ipoke("eval", "-c", str(runs / slug(first) / "checkpoints" / "last"), "-d", str(test), "--baselines",
                "--n-clips", str(plan.n_eval), "--structure-clips", str(plan.structure_clips),
                "--device", plan.device, "--out", str(plan.out / "eval"))
    for name in others:
        cmd += ["--ablation", f"{name}={runs / slug(name) / 'checkpoints' / 'last'}"]
    table = plan.out / "ablation.md"
    with open(table, "w") as f, open(plan.out / "eval.log", "w") as progress:
        f.write(f"first row (iPoke (last)): {first}; every row {plan.steps} iterations of {plan.preset} "
                "(see each NAME.json's training section)\n\n")
        f.flush()
        if subprocess.run(cmd, stdout=f, stderr=progress).returncode != 0:
            raise UserError(f"ipoke eval failed; its messages are in {plan.out / 'eval.log'}")
    return table


def _pack(plan: AblationPlan, runs: Path) -> None:
    """Each row's sidecar beside the table, and its checkpoint and logs in ``OUT/ablation.tar.gz``."""
    with tarfile.open(plan.out / "ablation.tar.gz", "w:gz") as tar:
        for name in plan.rows:
            run = runs / slug(name)
            sidecar = run / "checkpoints" / "last.json"
            if sidecar.is_file():
                shutil.copyfile(sidecar, plan.out / f"{slug(name)}.json")
            for part in ("checkpoints/last.json", "checkpoints/last.safetensors", "train.log", "metrics.csv"):
                if (run / part).exists():
                    tar.add(run / part, arcname=f"{slug(name)}/{part}")


def run_ablation(plan: AblationPlan, log: Callable[[str], None] = print) -> Path | None:
    """Train every row of ``plan`` and score them in one table; returns the table's path
    (``None`` with ``plan.train_only``)."""
    check_plan(plan)
    t0 = time.time()
    runs = plan.work / "runs"
    try:
        runs.mkdir(parents=True, exist_ok=True)
        plan.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {e.filename}: {e.strerror}") from None
    data, test = plan.data or plan.work / "data", plan.test or plan.work / "test"
    _synth(plan, data, test, log)
    _train_rows(plan, data, runs, t0, log)
    log(f"training done at {time.time() - t0:.0f} s")
    if plan.train_only:
        return None
    table = _score(plan, test, runs)
    _pack(plan, runs)
    log(f"done at {time.time() - t0:.0f} s")
    return table
