"""No impossible value is accepted: one validation of every number read from a sidecar, a config or the
command line, before anything is built (issue 33, items 6-21); broken data sets, NaN flow caches and a run
folder in use stop with one line; images load as they are shown; the app starts whatever its settings say.

Each case runs the real CLI in this process (``ipoke_core.cli.main``) and checks exit code 2, one clear
line on stderr, and that every file that existed before is byte-identical after.
"""
import itertools
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
import cli_refusal
from cli_refusal import base, d  # noqa: F401 - fixtures
from test_app_fakes import FakePoker, make_window, settings  # noqa: F401 - fixtures (item 21)

POKE = ["--at", "30,20", "--by", "4,0"]


refused = cli_refusal.refused_here


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
        weights = 2 * (sum(9 * a * b for a, b in itertools.pairwise(widths)) +
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


# ---- item 7: images load as they are shown ----------------------------------------------------------

def test_exif_orientation_and_16_bit_depth(tmp_path):
    from ipoke_core.image import image_size, load_image

    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(wide).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    shown = load_image(tmp_path / "rot.jpg")
    assert shown.shape[:2] == (40, 20) and image_size(tmp_path / "rot.jpg") == (20, 40)
    assert shown[:15].mean() > 200 and shown[-15:].mean() < 50  # the white half is now on top
    dark = np.full((8, 8), 200, np.uint16)  # max 200 of 65535: nearly black, not 200/255
    Image.fromarray(dark).save(tmp_path / "dark16.png")
    assert load_image(tmp_path / "dark16.png").max() <= 1


# ---- items 8, 9, 15, 16: values and outputs of poke, heatmap, synth, init-checkpoint ------------------

def test_command_line_values_and_folder_outputs(d, capsys):
    img, ck = d / "img.png", d / "model"
    refused(["heatmap", "-c", ck, "-i", img, "--at", "30,20", "--magnitude", "1e-300,1e-299", "-o", d / "hm"],
            capsys, "the shortest poke this model draws is 0.05")
    refused(["poke", "-c", ck, "-i", img, *POKE, "--fps", "1000", "-o", d / "x.gif"], capsys, "at most 50 frames")
    refused(["poke", "-c", ck, "-i", img, *POKE, "--fps", "60", "-o", d / "x.mp4", "--gif"], capsys, "at most 50")
    refused(["synth", "--frames", "10000000", "--out", d / "syn"], capsys, "--frames: must be between 1 and 1000")
    refused(["synth", "--frames", "1000", "--size", "1024", "--out", d / "syn"], capsys, "GiB (limit 1 GiB per clip)")
    for name in ("dir.mp4", "dir.png", "dir.gif"):
        (d / name).mkdir()
        refused(["poke", "-c", ck, "-i", img, *POKE, "-o", d / name, "--overwrite"], capsys, "is a folder")
    (d / "ckdir.json").mkdir()
    refused(["init-checkpoint", "-o", d / "ckdir", "--overwrite"], capsys, "is a folder")
    assert not (d / "ckdir.safetensors").exists()


# ---- item 18: data sets that are not what they claim ----------------------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from ipoke_core.data.synthetic.generate import generate_dataset

    data = tmp_path_factory.mktemp("ds") / "data"
    generate_dataset(data, "plant", n=4, size=32, frames=6, seed=0, workers=1, flow_spans=(4,))
    return data


def test_broken_data_sets_are_one_line(dataset, tmp_path, capsys, monkeypatch):
    from ipoke_core.data.ground_truth import load_ground_truth
    from ipoke_core.data.layout import DatasetError, read_split

    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    good = (data / "dataset.json").read_text()
    (data / "dataset.json").write_text("[1, 2, 3]")
    for argv in (["eval", "--data", data, "--out", tmp_path / "ev"],
                 ["train", "--config", "tiny", "--data", data, "--out", tmp_path / "run", "--steps", "1"]):
        refused(argv, capsys, "not an object")
    (data / "dataset.json").write_text(good)
    clip = read_split(data, "train")[0]
    np.savez(data / "clips" / clip / "gt.npz", junk=np.zeros(3))
    with pytest.raises(DatasetError, match="not a ground-truth file"):
        load_ground_truth(data, clip)
    (data / "test.txt").write_text((data / "test.txt").read_text() + "no_such_clip\n")
    with pytest.raises(DatasetError, match="names 1 clip.s. that are not in"):
        read_split(data, "test")


# ---- item 20: a resumed run whose update blows the weights up stops like a fresh one ----------------------

def test_resume_with_a_huge_learning_rate_stops_cleanly(dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--config", "tiny", "--data", str(dataset), "--out", str(run), "--steps", "2", "--quiet",
                 "--set", "train.batch_size=2", "--set", "train.ckpt_every=1"]) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "--quiet", "--steps", "6", "--set", "train.lr=1e12"]) == 2
    err = capsys.readouterr().err
    assert "the weights diverged at the previous update" in err and "Traceback" not in err, err
    # it names where to go back to, never "none"
    assert "last good checkpoint is " in err and "none" not in err, err
    assert "Traceback" not in err and len([line for line in err.splitlines() if "error" in line]) == 1, err


# ---- item 19: plot on a binary metrics table ----------------------------------------------------------

@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"step,loss\n1,\x00\n"], ids=["binary", "nul"])
def test_plot_of_a_binary_metrics_table_is_one_line(tmp_path, capsys, monkeypatch, content):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.csv").write_bytes(content)
    (tmp_path / "run" / "run.json").write_text("[1, 2]")
    refused(["plot", tmp_path / "run", "--out", tmp_path / "p.png"], capsys, "metrics")


# ---- item 13: one training process per run folder ----------------------------------------------------------

def test_a_run_folder_in_use_is_refused_and_kill_9_leaves_no_stale_lock(dataset, tmp_path, capsys, monkeypatch):
    import signal
    import subprocess
    import sys

    from ipoke_core.train.run_lock import run_lock

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    # another training process, as the OS sees it: it holds the flock of RUN/.lock until it dies
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(run / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused(["train", "--config", "tiny", "--data", dataset, "--out", run, "--steps", "1",
                 "--set", "train.batch_size=2"], capsys,
                f"is in use by a training process (pid {holder.pid})")
        assert not (run / "config.toml").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(run):  # the kernel released the dead process's lock: nothing stale to clean up
        pass


# ---- item 21: the app starts whatever its settings file says ---------------------------------------------

@pytest.mark.parametrize("key,value", [("heatmap_colormap", "rainbow"), ("heatmap_opacity", "nan"), ("fps", "1e400")])
def test_app_starts_with_an_unusable_saved_setting(qtbot, make_window, settings, key, value):
    settings.q.setValue(key, value)
    settings.q.sync()
    w = make_window(FakePoker())
    # a non-number or a non-finite number reads as the default; a value the widget refuses is dropped
    assert w.ignored_settings == ([key] if key == "heatmap_colormap" else [])
    assert np.isfinite(w.player.fps.value()) and np.isfinite(w.heatmaps.opacity.value())
    if key == "heatmap_colormap":
        assert w.heatmaps.colormap_name != "rainbow"


# ---- item 12: NaN flow caches are refused, not trained on ----------------------------------------------

def test_training_on_nan_flow_caches_stops_with_one_line(dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    for cache in data.glob("clips/*/flow_*.npy"):
        flow = np.load(cache)
        flow[:] = np.nan
        np.save(cache, flow)
    capsys.readouterr()
    assert main(["train", "--config", "tiny", "--data", str(data), "--out", str(tmp_path / "run"), "--steps", "2",
                 "--quiet", "--set", "train.batch_size=2"]) == 2
    err = capsys.readouterr().err
    assert "the flow cache holds NaN or infinite values" in err and "Traceback" not in err, err


# ---- also: a frame folder of mixed sizes says why it is too short ------------------------------------------

def test_frame_folder_of_mixed_sizes_names_the_odd_frame(tmp_path):
    import cv2

    from ipoke_core.data.prepare import prepare_videos

    src = tmp_path / "videos" / "mixed"
    src.mkdir(parents=True)
    for i in range(12):
        cv2.imwrite(str(src / f"frame_{i:02d}.png"), np.full((40, 40, 3) if i != 1 else (20, 30, 3), i * 9, np.uint8))
    (tmp_path / "videos" / "ok").mkdir()
    for i in range(12):
        cv2.imwrite(str(tmp_path / "videos" / "ok" / f"frame_{i:02d}.png"), np.full((40, 40, 3), i * 9, np.uint8))
    warnings = []
    prepare_videos(tmp_path / "videos", tmp_path / "out", size=32, warn=warnings.append)
    text = "\n".join(warnings)
    assert "mixed: only one frame" in text and "frame_01.png: frame of size 30x20 differs" in text, text


def test_app_says_once_when_its_settings_cannot_be_saved(qtbot, make_window, tmp_path):
    """An unwritable HOME: the app starts and says at once that it will not remember its settings."""
    from PySide6.QtCore import QSettings

    from app.settings import AppSettings

    blocker = tmp_path / "home"
    blocker.write_text("a file where the settings folder should be")  # not writable for anyone, root included
    unsaved = AppSettings(QSettings(str(blocker / "config" / "settings.ini"), QSettings.Format.IniFormat))
    w = make_window(FakePoker(), settings=unsaved)
    from PySide6.QtWidgets import QLabel

    assert w.settings_unsaved
    note = w.statusBar().findChild(QLabel, "settings_unsaved")
    assert note is not None and note.isVisible() and "not writable" in note.toolTip()
    ok = make_window(FakePoker())
    assert not ok.settings_unsaved and ok.statusBar().findChild(QLabel, "settings_unsaved") is None
