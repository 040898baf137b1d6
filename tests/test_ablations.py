"""Every row of the paper's ablation table (``ipoke_core.ablations``) builds, trains and is scored.

Each switch is applied the way ``ipoke ablate`` applies it (``--set`` overrides of a preset), on
the tiny preset and a tiny synthetic set: training runs both stages, the switch shows in what was
trained and logged, the checkpoint generates a video, and ``ipoke eval --ablation`` puts the rows
in its table.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ipoke_core.ablations import ABLATIONS
from ipoke_core.cli import main as cli_main
from ipoke_core.config import apply_overrides
from ipoke_core.config import Config, config_from_dict, load_config
from ipoke_core.inference import load_poker
from ipoke_core.poke import Poke
from ipoke_core.train import TrainOptions, train
from ipoke_core.train.state import list_states

STAGE1, STAGE2 = 2, 4


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    from ipoke_core.data.synthetic.generate import generate_dataset

    root = tmp_path_factory.mktemp("plants32")
    generate_dataset(root, "plant", n=12, size=32, frames=8, seed=0, workers=1, flow_spans=(4,))
    return root


def ablation_config(name: str) -> Config:
    """The tiny preset with the row's overrides, trained for a handful of steps."""
    data = apply_overrides(load_config("tiny").to_dict(), ABLATIONS[name])
    cfg = config_from_dict(data)
    for key, value in dict(stage1_steps=STAGE1, stage2_steps=STAGE2, batch_size=2, log_every=1, val_every=1000,
                           sample_every=1000, ckpt_every=STAGE1 + 1, gan_warmup_steps=1000).items():
        setattr(cfg.train, key, value)
    cfg.validate()
    return cfg


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory) -> dict[str, Path]:
    """Every ablation row trained on the tiny set: name -> run folder."""
    root = tmp_path_factory.mktemp("ablations")
    runs = {}
    for i, name in enumerate(ABLATIONS):
        run = root / f"row{i}"
        result = train(TrainOptions(ablation_config(name), data_dir, run, progress=False))
        assert result.status == "finished", (name, result)
        runs[name] = run
    return runs


def metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_ablation_trains_and_generates(name, trained):
    run = trained[name]
    cfg = ablation_config(name)
    rows = [r for r in metrics(run) if r["loss"] or r["ae_perc"]]
    stages = [int(r["stage"]) for r in rows]
    if cfg.train.schedule == "single_stage":
        assert set(stages) == {2}, "single-stage training has no autoencoder pretraining"
    else:
        assert stages.count(1) == STAGE1 and stages.count(2) == STAGE2
    stage2 = [r for r in rows if r["stage"] == "2"]
    for r in stage2:
        assert math.isfinite(float(r["loss"])), (name, r)
        # the switch shows in what the generator is trained on
        assert bool(r["latent"]) == cfg.train.use_latent_loss, (name, r)
        assert bool(r["flow"]) == (cfg.train.w_flow > 0), (name, r)

    # the dynamics learn under every switch: their weights move during stage 2
    states = list_states(run)
    first = torch.load(states[0][1], weights_only=True)["model"]
    last = torch.load(states[-1][1], weights_only=True)["model"]
    moved = [k for k in first if k.startswith("dynamics.") and not torch.equal(first[k], last[k])]
    assert moved, f"{name}: no dynamics weight changed between steps {states[0][0]} and {states[-1][0]}"

    poker = load_poker(run / "checkpoints" / "last", device="cpu", amp="off")
    assert poker.model.cfg == cfg.model  # the checkpoint holds the ablated architecture
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    video = poker.poke(image, Poke(16, 16, 4, 0))
    assert video.frames.shape == (cfg.model.seq_len, 32, 32, 3) and video.frames.dtype == np.uint8


@pytest.mark.parametrize("preset", ["plants64", "figures64"])
def test_ablation_rows_switch_one_thing_each(preset):
    """On the presets the table is trained from, each row changes its own keys and nothing else."""
    base = load_config(preset).to_dict()
    for name, sets in ABLATIONS.items():
        cfg = config_from_dict(apply_overrides(load_config(preset).to_dict(), sets)).to_dict()
        changed = {f"{s}.{k}" for s in cfg if isinstance(cfg[s], dict) for k in cfg[s] if cfg[s][k] != base[s][k]}
        assert changed == {item.partition("=")[0] for item in sets}, (name, changed)


def test_eval_table_has_the_ablation_rows(trained, data_dir, tmp_path, capsys):
    ablated = ["single GRU (RNN)", "pixel decoder (paper)", "no latent loss"]
    args = ["eval", "-c", str(trained["default (seed 0)"] / "checkpoints" / "last"), "--data", str(data_dir),
            "--baselines", "--n-clips", "2", "--structure-clips", "0", "--device", "cpu", "--out", str(tmp_path)]
    for name in ablated:
        args += ["--ablation", f"{name}={trained[name] / 'checkpoints' / 'last'}"]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    table = list(csv.DictReader((tmp_path / "eval.csv").open()))
    methods = [r["method"] for r in table]
    assert methods[1:4] == ablated and "static (source repeated)" in methods
    for r in table[:4]:
        assert math.isfinite(float(r["psnr"])) and math.isfinite(float(r["poke_accuracy_px"])), r
        assert f"| {r['method']} |" in printed
