"""The checkpoints shipped in resources/checkpoints: loadable, small, trained, and reproducible from their sidecar."""
import numpy as np
import pytest

from ipoke_core.checkpoint import load_checkpoint
from ipoke_core.inference import Poker
from ipoke_core.paths import CHECKPOINTS, SAMPLES
from ipoke_core.poke import Poke

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model

BUNDLED = ["plants64", "figures64"]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoint_is_trained_small_and_says_how_it_was_made(name):
    weights = CHECKPOINTS / f"{name}.safetensors"
    assert weights.is_file(), f"{weights} is not bundled"
    assert weights.stat().st_size < 30 * 2**20
    _, meta = load_checkpoint(CHECKPOINTS / name)  # verifies format, architecture and SHA-256
    assert meta["trained"] is True
    training = meta["training"]
    assert training["command"].startswith("ipoke train ") and f"--config {name}" in training["command"]
    assert training["data_command"].startswith("ipoke synth ")
    assert training["data_seed"] == 0
    assert training["steps"] > training["config"]["train"]["stage1_steps"]  # stage 2 ran
    assert training["wall_time_s"] > 0 and training["device"]
    lo, hi = meta["data_stats"]["poke_magnitude_px"]
    assert 0 < lo < hi
    # the motion dead zone was set on the trained weights: the sidecar says how and from which file
    # (its checksum; a file's bytes, not the weights: safetensors orders its header differently per process)
    assert meta["model"]["motion_deadzone_px"] == 0.3
    # set by `ipoke derive` on it, or on a model it was fine-tuned from (a fine-tune keeps the parent's);
    # a later derive may have set another setting (the object mask's threshold)
    records, run = [meta.get("derived")], meta["training"]
    while isinstance(run, dict):  # the model, then each run it was fine-tuned from
        records.append(run.get("derived"))
        run = run.get("init_from")
    derived = next(r for r in records if r and "motion_deadzone_px" in r)
    assert derived["command"].startswith("ipoke derive ") and "--motion-deadzone 0.3" in derived["command"]
    assert len(derived["from_weights_sha256"]) == 64


def test_default_checkpoint_pokes_a_bundled_sample():
    poker = Poker.from_checkpoint(CHECKPOINTS / "plants64", "cpu")
    video = poker.poke(SAMPLES / "plant_1.png", Poke(58.0, 60.0, 6.0, -3.0))
    assert video.frames.shape == (10, 64, 64, 3) and video.frames.dtype == np.uint8
    # the generated frames reproduce the source (the stage-1 autoencoder is trained)
    error = np.abs(video.frames[0].astype(float) - video.source.astype(float)).mean()
    assert error < 20, error


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoint_moves_the_poked_point_and_says_how_well(name):
    """The shipped models are motion first: the poked point follows the poke, the model's own motion
    comes with the video, and the sidecar records a test on which it beats the still video."""
    poker = Poker.from_checkpoint(CHECKPOINTS / name, "cpu")
    assert poker.predicts_motion
    source, _ = poker.prepare(SAMPLES / ("plant_1.png" if name == "plants64" else "figure_1.png"))
    x, y = (24, 28) if name == "plants64" else (32, 30)  # on a leaf of plant_1, on the figure's torso
    moved = poker.last_motion(source, [Poke(float(x), float(y), 4.0, -2.0)])[0, y, x]  # where the poked pixel went
    assert np.dot(moved, [4.0, -2.0]) / np.hypot(4.0, -2.0) > 0.5 * np.hypot(4.0, -2.0), moved
    ev = poker.meta["evaluation"]
    assert ev["poke_accuracy_px"] < ev["static_poke_accuracy_px"]
    assert ev["motion_error_px"] < ev["static_motion_error_px"]
