"""Names longer than the file system allows, heatmaps too big for memory, and two runs or two pokes that
collide are each refused with one clear line (exit 2) and no file changed; two `ipoke synth` runs into one
folder keep each other's clips. These are the cases of docs/experiments/2026-12-07-hostile-inputs-round4.md
that were not clean. Each runs the real CLI in this process (``ipoke_core.cli.main``).
"""
from pathlib import Path

import pytest

import cli_refusal
from cli_refusal import base, d  # noqa: F401 - fixtures
from ipoke_core.analysis.heatmap import HeatmapError, check_heatmap_size

POKE = ["--at", "30,20", "--by", "4,0"]
LONG = "a" * 300  # longer than any file system's 255-byte name


refused = cli_refusal.refused_here


# ---- a name longer than the file system allows (OSError ENAMETOOLONG from a stat) ----------------------

def test_output_name_too_long_is_one_line(d, capsys):
    line = refused(["poke", "-c", "model", "-i", "img.png", *POKE, "-o", f"{LONG}.mp4"], capsys, "cannot use output")
    assert "too long" in line
    refused(["heatmap", "-c", "model", "-i", "img.png", "--at", "30,20", "--n", "2", "-o", LONG], capsys,
            "cannot use output")
    assert sorted(p.name for p in d.iterdir()) == ["img.png", "model.json", "model.safetensors"]


def test_input_image_name_too_long_or_under_a_file_is_one_line(d, capsys):
    line = refused(["poke", "-c", "model", "-i", f"{LONG}.png", *POKE, "-o", "o.mp4"], capsys, "cannot be read")
    assert "too long" in line
    refused(["poke", "-c", "model", "-i", "img.png/x.png", *POKE, "-o", "o.mp4"], capsys, "cannot be read")


# ---- heatmap: --n bounded by the memory it implies; --alpha checked before the pokes -------------------

def test_heatmap_n_is_bounded_by_its_memory_before_anything_is_made(d, capsys):
    refused(["heatmap", "-c", "model", "-i", "img.png", "--at", "30,20", "--n", "100000000", "-o", "hm"], capsys,
            "GiB of motion fields")
    assert not (d / "hm").exists()
    check_heatmap_size(64, 64, 64)  # the default, and far more, pass
    check_heatmap_size(4096, 128, 128)
    with pytest.raises(HeatmapError, match="use at most"):
        check_heatmap_size(10**8, 32, 32)


def test_heatmap_alpha_is_refused_before_the_model_runs(d, capsys, monkeypatch):
    import ipoke_core.commands.heatmap as heatmap

    def no_model(args):
        raise AssertionError("the model was loaded before --alpha was checked")

    monkeypatch.setattr(heatmap, "load_poker", no_model)
    for alpha in ("1.5", "-0.1"):
        refused(["heatmap", "-c", "model", "-i", "img.png", "--at", "30,20", "--n", "2", "--alpha", alpha,
                 "-o", "hm"], capsys, "--alpha must be in [0, 1]")
    assert not (d / "hm").exists()


# ---- two `ipoke synth --out same` at once: one crashed with "Directory not empty" ---------------------

def _clip(folder: Path, text: str) -> Path:
    from ipoke_core.data.synthetic.generate import INFO

    folder.mkdir(parents=True)
    (folder / INFO).write_text(text)
    return folder


def test_synth_keeps_a_clip_another_run_finished_first(tmp_path, monkeypatch):
    import os

    from ipoke_core.data.synthetic import generate
    from ipoke_core.data.synthetic.generate import INFO

    final = _clip(tmp_path / "000003", "theirs")
    generate._publish(_clip(tmp_path / ".000003.tmp1", "ours"), final)  # already there: ours is dropped
    assert (final / INFO).read_text() == "theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["000003"]

    # the race itself: the other run renames its copy in after our check, before our rename
    real_replace = os.replace

    def other_run_first(src, dst):
        _clip(tmp_path / ".000004.tmp2", "theirs")
        real_replace(tmp_path / ".000004.tmp2", dst)
        real_replace(src, dst)  # ENOTEMPTY, as between two processes

    monkeypatch.setattr(generate.os, "replace", other_run_first)
    generate._publish(_clip(tmp_path / ".000004.tmp1", "ours"), tmp_path / "000004")
    monkeypatch.undo()
    assert (tmp_path / "000004" / INFO).read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000003", "000004"]


# ---- two pokes at one point: the later replaced the earlier without a word -----------------------------

def test_poke_refuses_two_pokes_at_one_point(d, capsys):
    refused(["poke", "-c", "model", "-i", "img.png", "--at", "30,20", "--by", "4,0", "--at", "30.0,20", "--by", "-4,0",
             "-o", "o.mp4"], capsys, "--at 30,20 is given twice")
