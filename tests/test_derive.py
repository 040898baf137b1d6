"""``ipoke derive``: the same weights with another motion dead zone, and what the dead zone buys a user."""
import json

import cv2
import numpy as np
import pytest

from ipoke_core.checkpoint import load_checkpoint, read_meta, save_checkpoint
from ipoke_core.cli import main as cli_main
from ipoke_core.config import ModelConfig, default_model_config
from ipoke_core.inference import Poker
from ipoke_core.model import IPoke
from ipoke_core.paths import CHECKPOINTS

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model


def _texture() -> np.ndarray:
    """A 64 px image that is texture everywhere, as a photo's background often is."""
    rng = np.random.default_rng(0)
    return cv2.resize(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), (64, 64), interpolation=cv2.INTER_CUBIC)


def test_derive_copies_the_weights_with_a_dead_zone_that_stills_texture(tmp_path, capsys):
    source_ckpt = CHECKPOINTS / "plants64"  # shipped with a 0.3 px dead zone
    off, still = tmp_path / "off", tmp_path / "still"
    assert cli_main(["derive", str(source_ckpt), "--out", str(off), "--motion-deadzone", "0"]) == 0
    assert "0.3 -> 0 px" in capsys.readouterr().out
    assert cli_main(["derive", str(off), "--out", str(still), "--motion-deadzone", "0.2"]) == 0
    assert "0 -> 0.2 px" in capsys.readouterr().out
    original, old_meta = load_checkpoint(source_ckpt)
    derived, meta = load_checkpoint(still)  # verified like any checkpoint
    assert derived.cfg.motion_deadzone_px == 0.2 and load_checkpoint(off)[0].cfg.motion_deadzone_px == 0.0
    assert all((a == b).all() for a, b in zip(original.state_dict().values(), derived.state_dict().values()))
    assert meta["training"] == old_meta["training"] and meta["data_stats"] == old_meta["data_stats"]
    assert "evaluation" not in meta  # measured for the old rendering
    assert meta["derived"]["from_weights_sha256"] == read_meta(off)["weights_sha256"]  # the file it was copied from
    assert meta["derived"]["command"] == f"ipoke derive {off} --out {still} --motion-deadzone 0.2"
    assert meta["derived"]["motion_deadzone_px"] == [0.0, 0.2]
    assert cli_main(["info", str(still)]) == 0
    info = capsys.readouterr().out
    assert "motion dead zone 0.2 px" in info and "ipoke derive" in info

    # a still input on texture: the network's residual flow shimmers every edge; the dead zone stops it
    changes = []
    for ckpt in (off, still):
        poker = Poker.from_checkpoint(ckpt, "cpu")
        src, _ = poker.prepare(_texture())
        changes.append(np.abs(poker.generate(src, [[]])[0, -1].astype(float) - src).mean())
    assert changes[1] < 0.25 and changes[1] < changes[0] / 5, changes


def test_derive_refuses_what_it_cannot_do(tmp_path, capsys):
    pixel = tmp_path / "pixel"
    save_checkpoint(pixel, IPoke(ModelConfig(decoder="pixel")), {"trained": False})
    assert cli_main(["derive", str(pixel), "--out", str(tmp_path / "x"), "--motion-deadzone", "0.2"]) != 0
    assert "pixel decoder" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
    warp = tmp_path / "warp"
    save_checkpoint(warp, IPoke(default_model_config(64)), {"trained": False})
    assert cli_main(["derive", str(warp), "--out", str(warp), "--motion-deadzone", "0.2", "--overwrite"]) != 0
    assert "is the input itself" in capsys.readouterr().err
    (tmp_path / "taken.json").write_text("{}")
    assert cli_main(["derive", str(warp), "--out", str(tmp_path / "taken"), "--motion-deadzone", "0.2"]) != 0
    assert "already exists" in capsys.readouterr().err
    assert cli_main(["derive", str(warp), "--out", str(tmp_path / "y"), "--motion-deadzone", "-1"]) == 2
    assert "must be between 0 and 2" in capsys.readouterr().err
    assert json.loads((tmp_path / "taken.json").read_text()) == {}
    assert read_meta(warp)["model"]["motion_deadzone_px"] == 0.0


def test_derive_sets_the_object_masks_threshold_and_says_what_it_cannot(tmp_path, capsys):
    masked = tmp_path / "masked"
    save_checkpoint(masked, IPoke(ModelConfig(**{**default_model_config(64).__dict__, "object_mask": True})),
                    {"trained": False})
    low = tmp_path / "low"
    assert cli_main(["derive", str(masked), "--out", str(low), "--movable-threshold", "0.05"]) == 0
    assert "movable above 0.5 -> 0.05" in capsys.readouterr().out
    derived, meta = load_checkpoint(low)
    assert derived.cfg.movable_threshold == 0.05 and derived.cfg.motion_deadzone_px == 0.0
    assert meta["derived"]["movable_threshold"] == [0.5, 0.05] and "motion_deadzone_px" not in meta["derived"]
    assert meta["derived"]["command"] == f"ipoke derive {masked} --out {low} --movable-threshold 0.05"
    assert cli_main(["info", str(low)]) == 0
    assert "object mask (movable above 0.05)" in capsys.readouterr().out
    # nothing to change, a checkpoint without a mask, a threshold that decides nothing
    assert cli_main(["derive", str(masked), "--out", str(tmp_path / "a")]) != 0
    assert "--movable-threshold" in capsys.readouterr().err
    plain = tmp_path / "plain"
    save_checkpoint(plain, IPoke(default_model_config(64)), {"trained": False})
    assert cli_main(["derive", str(plain), "--out", str(tmp_path / "b"), "--movable-threshold", "0.2"]) != 0
    assert "needs a checkpoint with an object mask" in capsys.readouterr().err
    assert cli_main(["derive", str(masked), "--out", str(tmp_path / "c"), "--movable-threshold", "1"]) != 0
    assert "movable_threshold" in capsys.readouterr().err
    assert not any((tmp_path / n).with_suffix(".json").exists() for n in "abc")

