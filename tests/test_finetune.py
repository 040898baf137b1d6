"""Fine-tuning (``ipoke train --init-from``), the cosine learning rate and the weight average (EMA)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ipoke_core.checkpoint import load_checkpoint, read_meta
from ipoke_core.cli import main as cli_main
from ipoke_core.train import TrainOptions, train
from ipoke_core.train.schedule import ema_model, lr_factor
from ipoke_core.train.state import list_states
from ipoke_core.train.trainer import TrainingError


from test_train_loop import data_dir, tiny  # noqa: F401 - the tiny synthetic set and config of the loop tests


QUIET = dict(log_every=1, val_every=1000, sample_every=1000, ckpt_every=1000)


@pytest.fixture(scope="module")
def pretrained(data_dir, tmp_path_factory) -> Path:
    """A checkpoint of a short tiny run: the weights a fine-tuning run starts from."""
    run = tmp_path_factory.mktemp("pre") / "run"
    result = train(TrainOptions(tiny(stage1_steps=2, stage2_steps=2, lr=2e-3, **QUIET), data_dir, run, progress=False))
    return result.last_checkpoint.with_suffix("")


def fine_tune_only(module: str, cfg, data: Path, pretrained: Path, out: Path) -> dict:
    """Fine-tune ``pretrained`` with ``cfg`` (which adds ``module``, e.g. ``part_masks``, trained alone) and
    check that every weight outside that module is exactly the checkpoint's. Returns the new sidecar."""
    start, _ = load_checkpoint(pretrained)
    result = train(TrainOptions(cfg, data, out, init_from=pretrained, progress=False))
    assert result.status == "finished"
    tuned, meta = load_checkpoint(result.last_checkpoint.with_suffix(""))
    old = start.state_dict()
    for name, value in tuned.state_dict().items():
        if not name.startswith(f"{module}."):
            assert torch.equal(value, old[name]), name  # only the added module trained
    return meta


def _max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(float((p - q).abs().max()) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_init_from_starts_at_the_checkpoint(data_dir, pretrained, tmp_path):
    """A fine-tuning run continues the given weights (a vanishing learning rate leaves them as they were)
    and records where it started; a fresh run starts elsewhere."""
    start, _ = load_checkpoint(pretrained)
    cfg = tiny(stage1_steps=0, stage2_steps=1, lr=1e-12, **QUIET)
    tuned = train(TrainOptions(cfg, data_dir, tmp_path / "ft", init_from=pretrained, progress=False))
    fresh_cfg = tiny(stage1_steps=0, stage2_steps=1, lr=1e-12, seed=1, **QUIET)  # another seed: other initial weights
    fresh = train(TrainOptions(fresh_cfg, data_dir, tmp_path / "fresh", progress=False))
    model, meta = load_checkpoint(tuned.last_checkpoint.with_suffix(""))
    other, _ = load_checkpoint(fresh.last_checkpoint.with_suffix(""))
    assert _max_diff(model, start) < 1e-6
    assert _max_diff(other, start) > 1e-2
    init = meta["training"]["init_from"]
    assert init["steps"] == 4 and init["total_steps"] == 4 and init["weights_sha256"] == read_meta(pretrained)["weights_sha256"]
    assert init["checkpoint"] == str(pretrained)  # as given, like the data folder: no machine's absolute path
    parent = read_meta(pretrained)["training"]  # how the parent was made travels along
    assert init["wall_time_s"] == parent["wall_time_s"] and init["device"] == parent["device"]
    assert all(init[k] == parent[k] for k in ("command", "data_command") if k in parent)
    assert "initialised from" in (tmp_path / "ft" / "train.log").read_text()


def test_init_from_refuses_another_architecture(data_dir, pretrained, tmp_path):
    cfg = tiny(stage1_steps=0, stage2_steps=1, **QUIET)
    cfg.model.bottleneck = cfg.model.bottleneck * 2
    with pytest.raises(TrainingError, match=r"architecture differs.*model.bottleneck"):
        train(TrainOptions(cfg, data_dir, tmp_path / "ft", init_from=pretrained, progress=False))
    assert not (tmp_path / "ft").exists()  # nothing written: the same --out works once the config is fixed


def test_init_from_with_resume_is_a_one_line_error(data_dir, pretrained, tmp_path, capsys):
    code = cli_main(["train", "--out", str(tmp_path / "run"), "--resume", "--init-from", str(pretrained)])
    assert code != 0
    err = capsys.readouterr().err.strip()
    assert "--init-from starts a new run" in err and "Traceback" not in err


def test_lr_factor_cosine():
    assert lr_factor("constant", 5, 10, 0.1) == 1.0
    assert lr_factor("cosine", 0, 11, 0.1) == pytest.approx(1.0)
    assert lr_factor("cosine", 5, 11, 0.1) == pytest.approx(0.55)
    assert lr_factor("cosine", 10, 11, 0.1) == pytest.approx(0.1)
    assert lr_factor("cosine", 50, 11, 0.1) == pytest.approx(0.1)  # past the end (resumed with more steps)
    values = [lr_factor("cosine", s, 11, 0.1) for s in range(11)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_cosine_schedule_and_ema_reach_the_checkpoint(data_dir, tmp_path):
    """The optimiser's learning rate follows the cosine to its end, and the checkpoint holds the weight
    average, not the last step's weights."""
    cfg = tiny(stage1_steps=2, stage2_steps=6, lr=1e-3, lr_schedule="cosine", lr_final_ratio=0.1, ema_decay=0.9,
               **QUIET)
    result = train(TrainOptions(cfg, data_dir, tmp_path / "run", progress=False))
    state = torch.load(list_states(tmp_path / "run")[-1][1], weights_only=True)
    dyn_lr = state["optimizers"]["dyn"]["param_groups"][0]["lr"]
    ae_lr = state["optimizers"]["ae"]["param_groups"][0]["lr"]
    assert dyn_lr == pytest.approx(1e-4) and ae_lr == pytest.approx(1e-4)
    saved, _ = load_checkpoint(result.last_checkpoint.with_suffix(""))
    ema = {k[len("module."):]: v for k, v in state["ema"].items() if k.startswith("module.")}
    raw = state["model"]
    assert all(torch.equal(saved.state_dict()[k], ema[k]) for k in raw)
    moved = [k for k in raw if raw[k].is_floating_point() and not torch.allclose(raw[k], ema[k])]
    assert moved, "the average equals the raw weights: no averaging happened"
    assert int(state["ema"]["n_averaged"]) == 8
    assert math.isfinite(result.validation["val_metric"])


def test_trained_steps_add_up_over_fine_tuning():
    """`ipoke info` and the app say how many iterations are behind the weights, fine-tuning included."""
    from ipoke_core.quality import trained_steps, training_line

    assert trained_steps({"training": {"steps": 2509}}) == (2509, 2509)
    assert training_line({"training": {"steps": 2509}}) == "trained 2509 steps"
    tuned = {"training": {"steps": 2224, "init_from": {"steps": 2509}}}
    assert trained_steps(tuned) == (4733, 2224)
    assert training_line(tuned) == "trained 4733 steps (2224 fine-tuning)"
    twice = {"training": {"steps": 100, "init_from": {"steps": 2224, "total_steps": 4733}}}
    assert trained_steps(twice) == (4833, 100)
    assert trained_steps({"training": "garbage"}) == (None, None) and training_line({}) == "trained"


def test_ema_follows_its_warm_up_formula_across_a_resume():
    """The average is avg <- d * avg + (1 - d) * w with d = min(decay, (1 + n) / (10 + n)) after n updates,
    also when a new average is loaded from a saved one mid-way (a resumed run)."""
    model = torch.nn.Linear(1, 1, bias=False)
    weights = [1.0, 3.0, -2.0, 5.0, 0.5]
    expected, avg = [], None
    for n, w in enumerate(weights):
        if avg is None:
            avg = w  # the first update copies the weights
        else:
            d = min(0.5, (1.0 + n) / (10.0 + n))
            avg = d * avg + (1 - d) * w
        expected.append(avg)

    ema, got = ema_model(model, 0.5), []
    for i, w in enumerate(weights):
        if i == 3:  # resume: a fresh average loaded from the saved one
            saved = ema.state_dict()
            ema = ema_model(model, 0.5)
            ema.load_state_dict(saved)
        model.weight.data.fill_(w)
        ema.update_parameters(model)
        got.append(ema.module.weight.item())
    assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("key, value", [("motion_deadzone_px", 0.2), ("motion_prior_sigma", 0.0625), ("poke_radius", 0)])
def test_init_from_may_change_the_settings_no_weight_depends_on(data_dir, pretrained, tmp_path, key, value):
    """The motion dead zone (how frames are drawn), the motion prior's falloff (an input of the motion
    head) and the poke square's size shape no weight: a checkpoint can be fine-tuned with other values,
    and the new checkpoint records them."""
    cfg = tiny(stage1_steps=0, stage2_steps=1, lr=1e-12, **QUIET)
    assert getattr(cfg.model, key) != value
    setattr(cfg.model, key, value)
    tuned = train(TrainOptions(cfg, data_dir, tmp_path / "ft", init_from=pretrained, progress=False))
    model, meta = load_checkpoint(tuned.last_checkpoint.with_suffix(""))
    assert getattr(model.cfg, key) == value and meta["model"][key] == value


def test_fine_tuning_from_the_command_line_keeps_the_checkpoints_dead_zone(data_dir, pretrained, tmp_path, capsys):
    """``ipoke train --init-from`` draws like the checkpoint it starts from: fine-tuning the bundled model
    must not silently turn its motion dead zone off; ``--set`` still decides when given."""
    still = tmp_path / "still"
    assert cli_main(["derive", str(pretrained), "--out", str(still), "--motion-deadzone", "0.3"]) == 0
    quiet = ["--set", "train.stage1_steps=0", "--set", "train.stage2_steps=1", "--set", "train.val_every=1000",
             "--set", "train.sample_every=1000", "--set", "train.num_workers=0", "--quiet", "--device", "cpu"]
    for extra, expected in (([], 0.3), (["--set", "model.motion_deadzone_px=0.1"], 0.1)):
        run = tmp_path / f"ft{expected}"
        code = cli_main(["train", "--config", "tiny", "--data", str(data_dir), "--out", str(run),
                         "--init-from", str(still)] + quiet + extra)
        assert code == 0, capsys.readouterr().err
        model, meta = load_checkpoint(run / "checkpoints" / "last")
        assert model.cfg.motion_deadzone_px == expected
        # how the parent got its dead zone travels along with the rest of its record
        assert meta["training"]["init_from"]["derived"]["command"].startswith(f"ipoke derive {pretrained}")
    assert "model.motion_deadzone_px = 0.3 from" in capsys.readouterr().out


def test_fine_tuning_from_the_command_line_keeps_the_checkpoints_motion_prior(data_dir, pretrained, tmp_path, capsys):
    """A checkpoint fine-tuned to a narrower motion prior keeps it when fine-tuned again from a config
    file that says otherwise (the head was trained on that prior); ``--set`` still decides when given."""
    quiet = ["--config", "tiny", "--data", str(data_dir), "--set", "train.stage1_steps=0", "--set",
             "train.stage2_steps=1", "--set", "train.val_every=1000", "--set", "train.sample_every=1000", "--set",
             "train.num_workers=0", "--quiet", "--device", "cpu"]
    narrow = tmp_path / "narrow"
    assert cli_main(["train", "--out", str(narrow), "--init-from", str(pretrained), "--set",
                     "model.motion_prior_sigma=0.0625"] + quiet) == 0, capsys.readouterr().err
    for extra, expected in (([], 0.0625), (["--set", "model.motion_prior_sigma=0.1"], 0.1)):
        run = tmp_path / f"again{expected}"
        code = cli_main(["train", "--out", str(run), "--init-from", str(narrow / "checkpoints" / "last")] + quiet + extra)
        assert code == 0, capsys.readouterr().err
        assert load_checkpoint(run / "checkpoints" / "last")[0].cfg.motion_prior_sigma == expected
    assert "model.motion_prior_sigma = 0.0625 from" in capsys.readouterr().out
