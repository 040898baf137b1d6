"""No impossible value is accepted (issue 33, items 6-21): one validation of every number read from a
sidecar, a config or the command line, before anything is built.

Each case runs the real CLI in this process (``ipoke_core.cli.main``) and checks exit code 2, one clear
line on stderr, and that every file that existed before is byte-identical after.
"""
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ipoke_core.checkpoint import load_checkpoint, save_checkpoint
from ipoke_core.cli import main
from ipoke_core.config import ConfigError, ModelConfig, load_config

POKE = ["--at", "30,20", "--by", "4,0"]


def snapshot(root: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(argv: list, capsys, message: str) -> str:
    """Run ``argv``: it must exit 2 with one error line holding ``message``, and change no file."""
    root = Path.cwd()
    before = snapshot(root)
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:") and "%|" not in line]
    assert rc == 2, err
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err, err
    assert snapshot(root) == before
    return lines[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny untrained checkpoint and an image, made once."""
    d = tmp_path_factory.mktemp("base")
    assert main(["init-checkpoint", "--out", str(d / "model"), "--config", "tiny"]) == 0
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(d / "img.png")
    return d


@pytest.fixture
def d(base, tmp_path, monkeypatch):
    for name in ("model.safetensors", "model.json", "img.png"):
        shutil.copy(base / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit_sidecar(path: Path, change) -> None:
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


# ---- items 6, 14, 17: the numbers of a sidecar -------------------------------------------------------

SIDECAR_VALUES = [
    ("channels", [8, 100000], "model.channels must all be in [4, 4096]"),
    ("channels", [8, 4096], "GiB for its weights and one video"),
    ("seq_len", 1_000_000, "model.seq_len must be in [2, 256]"),
    ("resolution", 65536, "model.resolution must be a power of two in [32, 1024]"),
    ("poke_scale", 1e-300, "model.poke_scale must be in"),
    ("poke_gain", 1e300, "model.poke_gain must be in"),
    ("motion_prior_sigma", 1e-300, "model.motion_prior_sigma must be in"),
    ("poke_radius", 10**400, "model.poke_radius must be in"),
    ("poke_scale", 10**400, "model.poke_scale is too large"),
    ("poke_gain", float("nan"), "model.poke_gain must be a finite number"),
    ("bottleneck", 8.5, "model.bottleneck must be int"),
]


@pytest.mark.parametrize("key,value,message", SIDECAR_VALUES, ids=[f"{k}={str(v)[:12]}" for k, v, _ in SIDECAR_VALUES])
def test_sidecar_numbers_are_bounded_before_anything_is_built(d, capsys, key, value, message):
    edit_sidecar(d / "model.json", lambda m: m["model"].__setitem__(key, value))
    refused(["info", d / "model"], capsys, message)
    refused(["poke", "-c", d / "model", "-i", d / "img.png", *POKE, "-o", d / "o.mp4"], capsys, message)


@pytest.mark.parametrize("text,message", [
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ('{"format": "ipoke-checkpoint", "n": ' + "7" * 5000 + "}", "digits"),
])
def test_hostile_sidecar_json_is_one_line(d, capsys, text, message):
    (d / "model.json").write_text(text)
    refused(["info", d / "model"], capsys, message)


def test_model_memory_estimate_is_calibrated_on_every_preset():
    """The estimate (no model built) is within 15 % of the real weights; every preset is far below the limit."""
    for name in ("tiny", "plants64", "plants128", "paper64", "paper128", "figures64"):
        cfg = load_config(name).model
        with torch.device("meta"):
            from ipoke_core.model import IPoke

            n = sum(p.numel() for p in IPoke(cfg).parameters())
        widths = [3, *cfg.channels]
        weights = 2 * (sum(9 * a * b for a, b in zip(widths, widths[1:])) +
                       sum(54 * c * c for c in cfg.channels[-cfg.depth:]))
        assert 0.85 < weights / n < 1.15, name
        assert cfg.memory_estimate() < 1 << 30
    with pytest.raises(ConfigError, match="GiB"):
        ModelConfig(channels=[16, 32, 4096, 4096], bottleneck=8, depth=2).validate()


def test_config_file_sizes_are_bounded(d, capsys):
    text = (Path(__file__).parents[1] / "ipoke_core/configs/tiny.toml").read_text()
    (d / "big.toml").write_text(text.replace("channels = [8, 16]", "channels = [8, 16, 9999999]"))
    refused(["init-checkpoint", "--config", d / "big.toml", "-o", d / "x"], capsys, "model.channels must all be in")


def test_non_finite_output_is_an_error_not_a_black_video(d, capsys):
    """Item 6: weights x1e30 with a recomputed checksum pass every load check; the poke must still refuse."""
    model, meta = load_checkpoint(d / "model")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e30)
    save_checkpoint(d / "model", model, meta)
    refused(["poke", "-c", d / "model", "-i", d / "img.png", *POKE, "-o", d / "o.mp4"], capsys, "NaN or infinite")


# ---- item 10, 19: init-checkpoint --resolution and --seed ------------------------------------------------

def test_init_checkpoint_honours_resolution(d, capsys):
    assert main(["init-checkpoint", "--config", "tiny", "--resolution", "64", "-o", str(d / "r64")]) == 0
    assert json.loads((d / "r64.json").read_text())["model"]["resolution"] == 64
    refused(["init-checkpoint", "--resolution", "65536", "-o", d / "big"], capsys, "power of two in [32, 1024]")
    refused(["init-checkpoint", "--seed", str(2**80), "-o", d / "s"], capsys, "--seed: must be between 0 and")


# ---- item 11: info --json is JSON ---------------------------------------------------------------------

def test_info_json_prints_null_for_nan(d, capsys):
    edit_sidecar(d / "model.json", lambda m: m["training"].__setitem__("final_loss", float("nan")))
    capsys.readouterr()
    assert main(["info", str(d / "model"), "--json"]) == 0

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    meta = json.loads(capsys.readouterr().out, parse_constant=no_constants)
    assert meta["training"]["final_loss"] is None


# ---- items 16, 19: eval checks its outputs (and the sidecar --record rewrites) before the work ---------

def test_eval_checks_its_outputs_before_the_work(d, capsys):
    (d / "ev" / "eval.md").mkdir(parents=True)
    refused(["eval", "-c", d / "model", "--data", d / "no-data", "--out", d / "ev"], capsys, "is a folder")
    (d / "ev" / "eval.md").rmdir()
    (d / "ro").mkdir()
    for name in ("model.safetensors", "model.json"):
        shutil.copy(d / name, d / "ro" / name)
    (d / "ro").chmod(0o555)
    try:
        if not os.access(d / "ro", os.W_OK):  # root may write anyway
            refused(["eval", "-c", d / "ro" / "model", "--data", d / "no-data", "--out", d / "ev", "--baselines",
                     "--record"], capsys, "is not writable")
    finally:
        (d / "ro").chmod(0o755)
