"""Nothing the user owns is lost (issue 33, items 1-5): every writer goes through one output guard.

Each case runs the real CLI in this process (``ipoke_core.cli.main``) on real files and checks exit
code 2, one clear line on stderr, and that every file that existed before is byte-identical after.
The checkpoint cases also check that a reader finds the complete old pair (or the new one) after a
refused rename or a kill between the two renames.
"""
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from ipoke_core.checkpoint import load_checkpoint, previous_weights, read_meta, save_checkpoint
from ipoke_core.cli import main
from ipoke_core.config import default_model_config
from ipoke_core.model import IPoke
from ipoke_core.outputs import FolderOutput, check_outputs, same_file
from ipoke_core.io_utils import OutputError

from cli_refusal import refused, snapshot, untrained_checkpoint_and_image

POKE = ["--at", "30,20", "--by", "4,0"]
HEAT = ["--at", "30,20", "--n", "2", "--batch-size", "2", "--upscale", "1"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny untrained checkpoint and an image, made once."""
    return untrained_checkpoint_and_image(tmp_path_factory.mktemp("base"), "--resolution", "32")


@pytest.fixture
def d(base, tmp_path):
    for name in ("model.safetensors", "model.json", "img.png"):
        shutil.copy(base / name, tmp_path / name)
    return tmp_path


# ---- 1. a frames folder never replaces the input ----------------------------------------------------
def _frames_case(d: Path, case: str) -> list[str]:
    """Set up ``case`` in ``d``; returns the poke arguments after ``-c model``."""
    img = d / "img.png"
    folder = d / "o_frames"
    folder.mkdir()
    if case == "--frames, input is frame_000 of the folder":
        shutil.copy(img, folder / "frame_000.png")
        return ["-i", folder / "frame_000.png", "-o", d / "o.mp4", "--frames"]
    if case == "-o FOLDER, input is FOLDER/frame_005.png":
        shutil.copy(img, folder / "frame_005.png")
        return ["-i", folder / "frame_005.png", "-o", folder]
    if case == "input is a frame the run would remove as stale":
        shutil.copy(img, folder / "frame_050.png")
        return ["-i", folder / "frame_050.png", "-o", folder]
    if case == "input spelled with ..":
        shutil.copy(img, folder / "frame_001.png")
        return ["-i", d / "o_frames" / ".." / "o_frames" / "frame_001.png", "-o", folder]
    if case == "a frame is a hard link to the input":
        os.link(img, folder / "frame_003.png")
        return ["-i", img, "-o", folder]
    if case == "the folder is a symlink to the input's folder":
        shutil.copy(img, folder / "frame_002.png")
        (d / "link").symlink_to(folder)
        return ["-i", folder / "frame_002.png", "-o", d / "link"]
    if case == "the file output is a symlink to the input":
        (d / "link.png").symlink_to(img)
        return ["-i", img, "-o", d / "link.png"]
    raise AssertionError(case)


@pytest.mark.parametrize("case", [
    "--frames, input is frame_000 of the folder", "-o FOLDER, input is FOLDER/frame_005.png",
    "input is a frame the run would remove as stale", "input spelled with ..", "a frame is a hard link to the input",
    "the folder is a symlink to the input's folder", "the file output is a symlink to the input",
])
def test_poke_outputs_never_replace_the_input(d, capsys, case):
    args = _frames_case(d, case)
    before = snapshot(d)
    refused(["poke", "-c", d / "model", *POKE, *args, "--overwrite"], capsys, "is the input")
    assert snapshot(d) == before


# ---- 2. heatmap: like poke ----------------------------------------------------------------------------
def test_heatmap_never_replaces_its_input_image(d, capsys):
    (d / "hg").mkdir()
    shutil.copy(d / "img.png", d / "hg" / "grid.png")
    before = snapshot(d)
    for extra in ([], ["--overwrite"]):
        refused(["heatmap", "-c", d / "model", "-i", d / "hg" / "grid.png", *HEAT, "-o", d / "hg", *extra],
                capsys, "is the input")
    assert snapshot(d) == before


@pytest.mark.parametrize("name", ["grid.png", "heatmaps.json", "loc1_overlay.png", "loc7_heatmap.npy"])
def test_heatmap_refuses_existing_files_without_overwrite(d, capsys, name):
    (d / "hm").mkdir()
    (d / "hm" / name).write_bytes(b"the user's own file")
    before = snapshot(d)
    refused(["heatmap", "-c", d / "model", "-i", d / "img.png", *HEAT, "-o", d / "hm"], capsys, "pass --overwrite")
    assert snapshot(d) == before


def test_heatmap_default_folder_second_run_needs_overwrite(d, capsys, monkeypatch):
    monkeypatch.chdir(d)
    argv = ["heatmap", "-c", str(d / "model"), "-i", str(d / "img.png"), *HEAT]
    assert main(argv) == 0
    before = snapshot(d)
    refused(argv, capsys, "heatmaps/")
    assert snapshot(d) == before
    assert main([*argv, "--overwrite"]) == 0


def test_heatmap_overwrite_removes_an_earlier_runs_extra_locations_only(d, capsys):
    out = d / "hm"
    three = ["heatmap", "-c", str(d / "model"), "-i", str(d / "img.png"), "--at", "30,20", "--at", "20,20",
             "--at", "40,25", "--n", "2", "--batch-size", "2", "--upscale", "1", "-o", str(out)]
    assert main(three) == 0
    (out / "notes.txt").write_text("mine")
    (out / "loc2_overlay.png.bak").write_text("mine too")
    assert main(["heatmap", "-c", str(d / "model"), "-i", str(d / "img.png"), *HEAT, "-o", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "grid.png", "heatmaps.json", "heatmaps.npy", "loc1_heatmap.npy", "loc1_overlay.png", "loc1_variance.npy",
        "loc2_overlay.png.bak", "notes.txt"]
    assert len(json.loads((out / "heatmaps.json").read_text())["locations"]) == 1


def test_heatmap_output_file_that_is_a_folder_is_refused_before_the_work(d, capsys):
    (d / "hm" / "loc1_heatmap.npy").mkdir(parents=True)
    refused(["heatmap", "-c", d / "model", "-i", d / "img.png", *HEAT, "-o", d / "hm", "--overwrite"],
            capsys, "is a folder")
    assert sorted(p.name for p in (d / "hm").iterdir()) == ["loc1_heatmap.npy"]


# ---- 3. plot ----------------------------------------------------------------------------------------
@pytest.fixture
def run(d):
    r = d / "run"
    (r / "checkpoints").mkdir(parents=True)
    (r / "metrics.csv").write_text("step,stage,loss\n1,2,0.5\n2,2,0.4\n3,2,0.35\n")
    shutil.copy(d / "model.safetensors", r / "checkpoints" / "best.safetensors")
    shutil.copy(d / "model.json", r / "checkpoints" / "best.json")
    (d / "user.png").write_bytes(b"the user's picture")
    (d / "metrics_link.png").symlink_to(r / "metrics.csv")
    return r


@pytest.mark.parametrize("out,extra,message", [
    ("run/metrics.csv", ["--overwrite"], "give a name ending in .png"),
    ("run/checkpoints/best.safetensors", ["--overwrite"], "give a name ending in .png"),
    ("run/checkpoints/best.json", [], "give a name ending in .png"),
    ("user.png", [], "pass --overwrite"),
    ("metrics_link.png", ["--overwrite"], "is the input"),
])
def test_plot_never_replaces_what_it_does_not_own(d, run, capsys, out, extra, message):
    before = snapshot(d)
    refused(["plot", run, "--out", d / out, *extra], capsys, message)
    assert snapshot(d) == before


def test_plot_replaces_an_existing_png_only_with_overwrite(d, run, capsys):
    assert main(["plot", str(run)]) == 0
    before = snapshot(d)
    refused(["plot", run], capsys, "losses.png already exists")
    assert snapshot(d) == before
    assert main(["plot", str(run), "--overwrite"]) == 0
    assert main(["plot", str(run), "--out", str(d / "user.png"), "--overwrite"]) == 0
    assert (d / "user.png").read_bytes().startswith(b"\x89PNG")


# ---- 4. synth --sheet -------------------------------------------------------------------------------
def test_synth_sheet_refuses_an_existing_file_before_generating(d, capsys):
    (d / "x.png").write_bytes(b"the user's picture")
    before = snapshot(d)
    refused(["synth", "--n", "2", "--size", "32", "--frames", "6", "--flow-spans", "4", "--workers", "1",
             "--out", d / "syn", "--sheet", d / "x.png", "--quiet"], capsys, "pass --overwrite")
    assert snapshot(d) == before and not (d / "syn").exists()


# ---- 5. a checkpoint's pair is replaced together ----------------------------------------------------
def _replace_failing(target: Path, real=os.replace):
    """An ``os.replace`` that refuses to replace ``target`` (as for an immutable file)."""
    def replace(src, dst, *args, **kwargs):
        if Path(dst) == target:
            raise PermissionError(1, "Operation not permitted", str(dst))
        return real(src, dst, *args, **kwargs)
    return replace


def _weights_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("failing", ["weights", "sidecar"])
def test_derive_with_an_unreplaceable_file_keeps_the_old_checkpoint(d, capsys, monkeypatch, failing):
    src = Path(__file__).resolve().parents[1] / "resources" / "checkpoints" / "figures64"
    pair = d / "out" / "pair"
    assert main(["derive", str(src), "--out", str(pair), "--motion-deadzone", "0.2"]) == 0
    old_model, old_meta = load_checkpoint(pair)
    before = snapshot(d)
    target = pair.with_name("pair.safetensors" if failing == "weights" else "pair.json")
    monkeypatch.setattr(os, "replace", _replace_failing(target))
    line = refused(["derive", src, "--out", pair, "--motion-deadzone", "0.5", "--overwrite"], capsys,
                   f"cannot write {target}: Operation not permitted")
    assert "existing files were left as they were" in line
    monkeypatch.undo()
    assert snapshot(d) == before  # no .prev, no temporary file left
    model, meta = load_checkpoint(pair)
    assert meta["model"]["motion_deadzone_px"] == 0.2 and meta == old_meta and _weights_equal(model, old_model)


def test_a_kill_between_the_two_renames_leaves_the_old_pair_readable(tmp_path, monkeypatch):
    torch.manual_seed(0)
    old, new = (IPoke(default_model_config(32)) for _ in range(2))
    name = tmp_path / "ckpt" / "last"
    save_checkpoint(name, old, {"trained": True, "training": {"steps": 1}})
    crashed = tmp_path / "crashed"

    class Killed(BaseException):
        pass

    real = os.replace

    def kill_before_the_sidecar(src, dst, *args, **kwargs):
        if Path(dst) == name.with_name("last.json"):  # what a kill -9 here leaves on disk, then stop
            shutil.copytree(name.parent, crashed, dirs_exist_ok=True)
            raise Killed
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", kill_before_the_sidecar)
    with pytest.raises(Killed):
        save_checkpoint(name, new, {"trained": True, "training": {"steps": 2}})
    monkeypatch.undo()
    left = crashed / "last"
    assert previous_weights(left.with_name("last.safetensors")).exists()  # the new weights were in place
    model, meta = load_checkpoint(left)
    assert meta["training"] == {"steps": 1} and read_meta(left) == meta and _weights_equal(model, old)


def test_a_save_after_a_crash_keeps_the_complete_old_pair(tmp_path, monkeypatch):
    torch.manual_seed(1)
    old, new, newer = (IPoke(default_model_config(32)) for _ in range(3))
    name = tmp_path / "last"
    weights, sidecar = name.with_name("last.safetensors"), name.with_name("last.json")
    save_checkpoint(name, old, {"training": {"steps": 1}})
    # the state a kill between the renames left: new weights, old sidecar, old weights as .prev
    os.link(weights, previous_weights(weights))
    save_checkpoint(tmp_path / "new", new)
    os.replace(tmp_path / "new.safetensors", weights)
    assert load_checkpoint(name)[1]["training"] == {"steps": 1}

    # another save, killed between its renames too: the old pair must still be the one found
    real = os.replace
    seen = {}

    def kill_before_the_sidecar(src, dst, *args, **kwargs):
        if Path(dst) == sidecar:
            seen["model"], seen["meta"] = load_checkpoint(name)
            raise KeyboardInterrupt
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", kill_before_the_sidecar)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(name, newer, {"training": {"steps": 3}})
    monkeypatch.undo()
    assert seen["meta"]["training"] == {"steps": 1} and _weights_equal(seen["model"], old)
    # and a save that completes leaves the new pair alone, without .prev
    save_checkpoint(name, newer, {"training": {"steps": 3}})
    model, meta = load_checkpoint(name)
    assert meta["training"] == {"steps": 3} and _weights_equal(model, newer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.json", "last.safetensors", "new.json"]


def test_an_immutable_weights_file_is_one_line_and_the_old_checkpoint_loads(d, capsys):
    import subprocess

    weights = d / "model.safetensors"
    if subprocess.run(["chattr", "+i", str(weights)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root and a file system that supports it)")
    try:
        before = snapshot(d)
        refused(["init-checkpoint", "--out", d / "model", "--resolution", "32", "--seed", "5", "--overwrite"],
                capsys, "cannot write")
        assert snapshot(d) == before
        load_checkpoint(d / "model")
    finally:
        subprocess.run(["chattr", "-i", str(weights)], capture_output=True)


@pytest.mark.parametrize("case", ["symlinked pair", "spelled with ..", "hard-linked weights"])
def test_derive_never_writes_over_its_input_checkpoint(d, capsys, case):
    out = d / "copy"
    if case == "symlinked pair":
        (d / "copy.safetensors").symlink_to(d / "model.safetensors")
        (d / "copy.json").symlink_to(d / "model.json")
    elif case == "spelled with ..":
        (d / "sub").mkdir()
        out = d / "sub" / ".." / "model"
    else:
        os.link(d / "model.safetensors", d / "copy.safetensors")
    before = snapshot(d)
    refused(["derive", d / "model", "--out", out, "--motion-deadzone", "0.5", "--overwrite", "--allow-unverified"],
            capsys, "is the input")
    assert snapshot(d) == before


def test_init_checkpoint_into_a_folder_is_refused_and_leaves_no_orphan(d, capsys):
    (d / "new.safetensors").mkdir()
    refused(["init-checkpoint", "--out", d / "new", "--resolution", "32", "--overwrite"], capsys, "is a folder")
    assert not (d / "new.json").exists()


# ---- the guard itself ---------------------------------------------------------------------------------
def test_the_guard_expands_a_folder_output_to_the_files_it_will_hold(tmp_path):
    import re

    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a_1.txt").write_text("an earlier run's")
    (folder / "mine.txt").write_text("the user's")
    out = FolderOutput(folder, re.compile(r"a_\d+\.txt"), ("a_0.txt",))
    assert out.targets() == [folder / "a_0.txt", folder / "a_1.txt"]
    with pytest.raises(OutputError, match="a_1.txt already exists"):
        check_outputs([out])
    check_outputs([out], overwrite=True)
    with pytest.raises(OutputError, match="is the input"):
        check_outputs([out], inputs=[folder / "a_1.txt"], overwrite=True)
    assert out.remove_stale() == [folder / "a_1.txt"]
    assert sorted(p.name for p in folder.iterdir()) == ["mine.txt"]
    assert same_file(folder / ".." / "f" / "mine.txt", folder / "mine.txt")


def test_eval_record_refuses_an_immutable_sidecar_before_the_evaluation(tmp_path):
    """Issue 33 item 19: a sidecar that cannot be replaced (chattr +i) is refused in a line before the
    minutes of evaluation, not with a PermissionError after them."""
    import subprocess

    from ipoke_core.outputs import check_replaceable

    sidecar = tmp_path / "ck.json"
    sidecar.write_text("{}")
    if subprocess.run(["chattr", "+i", str(sidecar)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root and a file system with attributes)")
    try:
        with pytest.raises(OutputError, match="read-only or immutable"):
            check_replaceable(sidecar)
    finally:
        subprocess.run(["chattr", "-i", str(sidecar)], capture_output=True)
    check_replaceable(sidecar)  # writable again: accepted
