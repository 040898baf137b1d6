"""The training loop on a tiny synthetic set on the CPU: learning, exact resume, NaN stop, CLI, plot."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ipoke_core.cli import main as cli_main
from ipoke_core.config import load_config
from ipoke_core.train import TrainOptions, train
from ipoke_core.train.state import list_states
from ipoke_core.train.trainer import TrainingError


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    from ipoke_core.data.synthetic.generate import generate_dataset

    root = tmp_path_factory.mktemp("plants32")
    generate_dataset(root, "plant", n=12, size=32, frames=6, seed=0, workers=1, flow_spans=(4,))
    return root


def tiny(**train):
    cfg = load_config("tiny")
    for k, v in train.items():
        setattr(cfg.train, k, v)
    cfg.validate()
    return cfg


def rows(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def column(run: Path, name: str) -> list[float]:
    return [float(r[name]) for r in rows(run) if r.get(name)]


def test_loss_falls_pixel_decoder(data_dir, tmp_path):
    """The paper's design: stage 1 learns to autoencode, stage 2 draws videos closer to the targets."""
    cfg = tiny(stage1_steps=8, stage2_steps=10, lr=2e-3, gan_warmup_steps=1000, log_every=2, val_every=1000,
               sample_every=1000, ckpt_every=1000, w_flow=0.0)
    cfg.model.decoder = "pixel"
    result = train(TrainOptions(cfg, data_dir, tmp_path / "run", progress=False))
    assert result.status == "finished" and result.step == 18
    ae = column(tmp_path / "run", "ae_perc")
    perc = column(tmp_path / "run", "perc")
    latent = column(tmp_path / "run", "latent")
    assert len(ae) == 4 and len(perc) == 5
    assert ae[-1] < 0.8 * ae[0], ae  # stage 1: the autoencoder learns
    assert perc[-1] < 0.9 * perc[0], perc  # stage 2: the generated videos approach the targets
    assert latent[-1] < latent[0], latent  # and the predicted states approach the encoded true frames (Eq. 7)


def test_flow_loss_falls_motion_first(data_dir, tmp_path):
    """The motion-first design (default presets): stage 2 learns the true motion of the poked object."""
    cfg = tiny(stage1_steps=4, stage2_steps=40, lr=2e-3, gan_warmup_steps=1000, log_every=4, val_every=1000,
               sample_every=1000, ckpt_every=1000)
    assert cfg.model.decoder == "warp" and cfg.train.w_flow > 0
    result = train(TrainOptions(cfg, data_dir, tmp_path / "run", progress=False))
    assert result.status == "finished"
    flow = column(tmp_path / "run", "flow")
    assert len(flow) == 10
    first, last = sum(flow[:3]) / 3, sum(flow[-3:]) / 3
    assert last < 0.85 * first, flow


def _all_tensors(state: dict, prefix: str = "") -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if isinstance(v, dict):
            out.update(_all_tensors(v, f"{prefix}{k}."))
        elif isinstance(v, torch.Tensor):
            out[f"{prefix}{k}"] = v
    return out


@pytest.mark.parametrize("recipe", [{}, {"lr_schedule": "cosine", "ema_decay": 0.9}], ids=["constant", "cosine+ema"])
def test_resume_is_exact(data_dir, tmp_path, recipe):
    """An interrupted + resumed run ends bit-identical to an uninterrupted one (GAN steps, learning-rate
    schedule and weight average included)."""
    # step 1: autoencoder; steps 2-4: dynamics, with the discriminators at step 4
    cfg = dict(stage1_steps=1, stage2_steps=3, gan_warmup_steps=2, batch_size=2, log_every=1, val_every=2,
               sample_every=100, ckpt_every=2, **recipe)
    full = train(TrainOptions(tiny(**cfg), data_dir, tmp_path / "full", progress=False))
    assert full.status == "finished"
    part = train(TrainOptions(tiny(**cfg), data_dir, tmp_path / "part", until_step=3, progress=False))
    assert part.status == "stopped" and part.step == 3
    # a run killed after step 3 resumes from the state of step 2 (the last periodic save): drop step 3's
    states = list_states(tmp_path / "part")
    assert [s for s, _ in states] == [2, 3]
    states[-1][1].unlink()
    resumed = train(TrainOptions(tiny(**cfg), data_dir, tmp_path / "part", resume=True, progress=False))
    assert resumed.status == "finished" and resumed.step == 4

    a = torch.load(list_states(tmp_path / "full")[-1][1], weights_only=True)
    b = torch.load(list_states(tmp_path / "part")[-1][1], weights_only=True)
    keys = ("model", "discriminators", "optimizers") + (("ema",) if recipe else ())
    ta, tb = _all_tensors({k: a[k] for k in keys}), _all_tensors({k: b[k] for k in keys})
    assert ta.keys() == tb.keys() and len(ta) > 50
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, different[:5]
    assert column(tmp_path / "full", "d_temporal"), "the GAN was not trained"
    # metrics.csv of the resumed run has each step once (rows after the resumed state were cut)
    steps = [int(r["step"]) for r in rows(tmp_path / "part") if r["loss"] or r["ae_perc"]]
    assert steps == [1, 2, 3, 4]


def test_nan_loss_stops_with_message_and_loadable_checkpoint(data_dir, tmp_path, monkeypatch):
    from ipoke_core.checkpoint import load_checkpoint
    from ipoke_core.train import engine

    real = engine.L.latent_loss

    def poisoned(states, targets):
        return real(states, targets) * float("nan")

    monkeypatch.setattr(engine.L, "latent_loss", poisoned)
    cfg = tiny(stage1_steps=3, stage2_steps=5, ckpt_every=100, val_every=100, sample_every=100)
    run = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"step 4: loss latent is NaN or infinite") as err:
        train(TrainOptions(cfg, data_dir, run, progress=False))
    assert "last good checkpoint" in str(err.value)
    model, meta = load_checkpoint(run / "checkpoints" / "last")
    assert meta["training"]["steps"] == 3
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert [s for s, _ in list_states(run)] == [3]
    assert "NaN" in (run / "train.log").read_text()


def test_cli_train_then_plot_and_poke(data_dir, tmp_path, capsys):
    from ipoke_core.inference import Poker
    from ipoke_core.poke import Poke

    run = tmp_path / "run"
    args = ["train", "--config", "tiny", "--data", str(data_dir), "--out", str(run), "--steps", "4", "--quiet",
            "--set", "train.gan_warmup_steps=100", "--set", "train.val_every=4", "--set", "train.sample_every=4"]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "finished: step 4 of 4" in out
    saved = load_config(run / "config.toml")
    assert saved.train.perceptual == "fallback" and saved.train.stage1_steps + saved.train.stage2_steps == 4
    info = json.loads((run / "run.json").read_text())
    assert info["perceptual_loss"] == "fallback:l1+ssim+grad" and info["data_seed"] == 0
    assert "fallback" in (run / "train.log").read_text()
    assert list((run / "samples").glob("step_*.png"))
    meta = json.loads((run / "checkpoints" / "last.json").read_text())
    assert meta["trained"] is True and meta["training"]["command"].startswith("ipoke train --config tiny")
    lo, hi = meta["data_stats"]["poke_magnitude_px"]
    assert 0 < lo <= hi
    poker = Poker.from_checkpoint(run / "checkpoints" / "best", device="cpu")
    video = poker.generate(poker.prepare(torch.zeros(32, 32, 3, dtype=torch.uint8).numpy())[0],
                           [[Poke(16, 16, 3, 0)]])
    assert video.shape == (1, 4, 32, 32, 3)

    # a second run into the same folder is refused; --resume of a finished run does nothing and says so
    assert cli_main(args) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert cli_main(["plot", str(run)]) == 0
    png = Path(capsys.readouterr().out.strip())
    assert png == run / "losses.png" and png.stat().st_size > 1000


def test_bad_inputs_are_one_line_errors(data_dir, tmp_path, capsys):
    base = ["train", "--config", "tiny", "--out", str(tmp_path / "r")]
    assert cli_main(base + ["--data", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    assert cli_main(base + ["--data", str(data_dir), "--set", "train.nope=1"]) == 2
    assert "unknown key 'nope'" in capsys.readouterr().err
    assert cli_main(base + ["--data", str(data_dir), "--vgg-weights", str(tmp_path / "vgg.pth")]) == 2
    assert "VGG weights" in capsys.readouterr().err
    assert cli_main(["train", "--out", str(tmp_path / "never"), "--resume"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert cli_main(["plot", str(tmp_path)]) == 2
    assert "metrics.csv not found" in capsys.readouterr().err
