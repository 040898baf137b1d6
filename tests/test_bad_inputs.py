"""Nothing a user owns is destroyed, no bad value gives a wrong result or a traceback (issue 10).

Each case runs through the real CLI entry point (in a subprocess, or in this process through
``ipoke_core.cli.main``) and checks exit code 2, one clear line on stderr without a traceback, and
that every file that existed before is byte-identical after.
"""
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def ipoke(*args):
    return subprocess.run([sys.executable, "-m", "ipoke_core.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def snapshot(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("owned")
    assert ipoke("init-checkpoint", "--out", d / "model", "--resolution", 32).returncode == 0
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(d / "img.png")
    (d / "album").mkdir()
    (d / "album" / "holiday.jpg").write_bytes(b"precious")
    (d / "album" / "frame_000.png").write_bytes(b"also mine")
    (d / "video.mp4").write_bytes(b"an earlier export")
    return d


POKE = ["--at", "30,20", "--by", "4,0"]


@pytest.mark.parametrize("case,args,message", [
    ("frame folder with other files", ["poke", "-c", "{d}/model", "-i", "{d}/img.png", *POKE, "-o", "{d}/album",
                                       "--overwrite"], "already holds other files"),
    ("output is the input image", ["poke", "-c", "{d}/model", "-i", "{d}/img.png", *POKE, "-o", "{d}/img.png",
                                   "--overwrite"], "is the input"),
    ("existing output without --overwrite", ["poke", "-c", "{d}/model", "-i", "{d}/img.png", *POKE,
                                             "-o", "{d}/video.mp4"], "pass --overwrite"),
    ("init-checkpoint over a checkpoint", ["init-checkpoint", "--out", "{d}/model", "--resolution", "32"],
     "already exists"),
])
def test_writers_never_replace_what_they_did_not_create(workdir, case, args, message):
    before = snapshot(workdir)
    r = ipoke(*[a.format(d=workdir) for a in args])
    assert r.returncode == 2, (case, r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.strip().splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1, r.stderr
    assert snapshot(workdir) == before, case


def test_frame_export_replaces_only_its_own_frames(workdir, tmp_path):
    out = tmp_path / "frames"
    args = ["poke", "-c", workdir / "model", "-i", workdir / "img.png", *POKE, "-o", out, "--upscale", "1"]
    assert ipoke(*args).returncode == 0
    assert len(list(out.glob("frame_*.png"))) == 11
    (out / "frame_099.png").write_bytes(b"a frame of a longer earlier export")
    r = ipoke(*args)
    assert r.returncode == 2 and "pass --overwrite" in r.stderr
    r = ipoke(*args, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:03d}.png" for i in range(11)]


# ---- no bad value gives a wrong result or a traceback (issue 10, second part) -------------------------------
# Each case runs in this process through ``ipoke_core.cli.main`` (what the ``ipoke`` script calls), which
# proves the exit status and the message at a fraction of a subprocess's cost; one case below also runs in
# a real subprocess to show that the script prints the same single line.

def _sidecar_variant(d, name, edit):
    """A copy of ``d/model`` named ``name`` whose sidecar went through ``edit(meta)``."""
    import json
    import shutil

    shutil.copy(d / "model.safetensors", d / f"{name}.safetensors")
    meta = json.loads((d / "model.json").read_text())
    edit(meta)
    (d / f"{name}.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def hostile(workdir):
    """``workdir`` plus the hostile inputs of the cases: a FIFO, a decompression bomb, damaged sidecars,
    checkpoint files that are folders, a run folder with a broken run.json, unusable videos."""
    import os
    import struct
    import zlib

    from ipoke_core.config import load_config

    d = workdir
    if hasattr(os, "mkfifo") and not (d / "fifo.png").exists():
        os.mkfifo(d / "fifo.png")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # valid PNG headers claiming 30000x30000 and 25000x25000 pixels (2.7 and 1.9 GB decoded): PIL refuses
    # the first itself, the second only with a warning, which must not reach the user next to our error
    for name, side in (("bomb.png", 30000), ("bomb625.png", 25000)):
        (d / name).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
                               + chunk(b"IEND", b""))
    _sidecar_variant(d, "float_channels", lambda m: m["model"].update(channels=[16.0, 32.0, 64.0]))
    _sidecar_variant(d, "no_channels", lambda m: m["model"].pop("channels"))
    _sidecar_variant(d, "stats_list", lambda m: m.update(data_stats=[1, 2]))
    _sidecar_variant(d, "training_text", lambda m: m.update(training="yes"))
    _sidecar_variant(d, "weights_folder", lambda m: None)
    (d / "weights_folder.safetensors").unlink()
    (d / "weights_folder.safetensors").mkdir()
    (d / "sidecar_folder.json").mkdir()
    (d / "sidecar_folder.safetensors").write_bytes((d / "model.safetensors").read_bytes())
    run = d / "run_broken_json"
    run.mkdir()
    load_config("tiny").save(run / "config.toml")
    (run / "run.json").write_text('{"data_dir": "/data", ')  # cut short by a crash or an editor
    (d / "videos").mkdir()
    (d / "videos" / "a.mp4").write_bytes(b"not a video")
    (d / "videos" / "b.avi").write_bytes(b"nor this")
    return d


IMG = ["-c", "{d}/model", "-i", "{d}/img.png"]
TRAIN = ["train", "--config", "tiny", "--data", "{d}/no_data", "--out", "{d}/new_run"]

BAD_VALUES = [
    # silent wrong results
    ("heatmap batch -1", ["heatmap", *IMG, "--at", "30,20", "--batch-size", "-1", "-o", "{d}/hm"],
     "argument --batch-size: must be at least 1, got -1"),
    ("eval batch -1", ["eval", "-c", "{d}/model", "--data", "{d}", "--batch-size", "-1", "-o", "{d}/ev"],
     "argument --batch-size: must be at least 1, got -1"),
    ("ckpt_every 0", [*TRAIN, "--set", "train.ckpt_every=0"], "train.ckpt_every must be >= 1, got 0"),
    ("val_every 0", [*TRAIN, "--set", "train.val_every=0"], "train.val_every must be >= 1, got 0"),
    ("keep_last 0", [*TRAIN, "--set", "train.keep_last=0"], "train.keep_last must be >= 1, got 0"),
    ("lr nan", [*TRAIN, "--set", "train.lr=nan"], "train.lr must be a finite number > 0, got nan"),
    ("batch_size true", [*TRAIN, "--set", "train.batch_size=true"], "train.batch_size must be a number, got True"),
    ("heatmap magnitude 1e9", ["heatmap", *IMG, "--at", "30,20", "--magnitude", "1,1e9", "-o", "{d}/hm"],
     "must stay within the 32x32 square"),
    ("poke by 1e9", ["poke", *IMG, "--at", "30,20", "--by", "1e9,0", "-o", "{d}/far.mp4"],
     "poke displacement (1e+09, 0) is longer than the 64x48 image"),
    ("synth wind nan", ["synth", "--wind", "nan", "--out", "{d}/syn"], "argument --wind: expected a finite number, got 'nan'"),
    ("poke fps 0", ["poke", *IMG, *POKE, "--fps", "0", "-o", "{d}/f0.mp4"],
     "argument --fps: must be between 0.1 and 1000, got 0"),
    ("train max-minutes nan", [*TRAIN, "--max-minutes", "nan"], "argument --max-minutes: expected a finite number"),
    ("train until-step -1", [*TRAIN, "--until-step", "-1"], "argument --until-step: must be at least 1, got -1"),
    # hangs and memory
    ("heatmap upscale 1000", ["heatmap", *IMG, "--at", "30,20", "--upscale", "1000", "-o", "{d}/hm"],
     "argument --upscale: must be between 1 and 16, got 1000"),
    ("heatmap FIFO", ["heatmap", "-c", "{d}/model", "-i", "{d}/fifo.png", "--at", "30,20", "-o", "{d}/hm"],
     "fifo.png: is not a regular file"),
    ("poke FIFO", ["poke", "-c", "{d}/model", "-i", "{d}/fifo.png", *POKE, "-o", "{d}/fifo.mp4"],
     "fifo.png: is not a regular file"),
    # tracebacks that are now one line
    ("decompression bomb", ["poke", "-c", "{d}/model", "-i", "{d}/bomb.png", *POKE, "-o", "{d}/bomb.mp4"],
     "bomb.png: too large"),
    ("625-megapixel header", ["poke", "-c", "{d}/model", "-i", "{d}/bomb625.png", *POKE, "-o", "{d}/bomb.mp4"],
     "bomb625.png: 25000x25000 is too large"),
    ("output under /proc", ["poke", *IMG, *POKE, "-o", "/proc/ipoke_test.mp4"], "/proc"),
    ("frames under /proc", ["poke", *IMG, *POKE, "-o", "/proc/ipoke_frames"], "/proc"),
    ("-o .", ["poke", *IMG, *POKE, "-o", ".", "--overwrite"], "already holds other files"),
    ("-o ..", ["poke", *IMG, *POKE, "-o", "..", "--overwrite"], "already holds other files"),
    ("gif fps -5", ["poke", *IMG, *POKE, "--fps", "-5", "-o", "{d}/f.gif"], "argument --fps: must be between 0.1 and 1000"),
    ("gif fps 1e-9", ["poke", *IMG, *POKE, "--fps", "1e-9", "-o", "{d}/f.gif"], "argument --fps: must be between 0.1"),
    ("gif fps nan", ["poke", *IMG, *POKE, "--fps", "nan", "-o", "{d}/f.gif"], "argument --fps: expected a finite number"),
    ("mp4 fps inf", ["poke", *IMG, *POKE, "--fps", "inf", "-o", "{d}/f.mp4"], "argument --fps: expected a finite number"),
    ("synth fps 0", ["synth", "--fps", "0", "--out", "{d}/syn"], "argument --fps: must be greater than 0, got 0"),
    ("poke device bogus", ["poke", *IMG, *POKE, "--device", "bogus", "-o", "{d}/d.mp4"], "unknown device 'bogus'"),
    ("poke device mps", ["poke", *IMG, *POKE, "--device", "mps", "-o", "{d}/d.mp4"], "unknown device 'mps'"),
    ("poke device meta", ["poke", *IMG, *POKE, "--device", "meta", "-o", "{d}/d.mp4"], "unknown device 'meta'"),
    ("bench device meta", ["bench", "--device", "meta"], "unknown device 'meta'"),
    ("heatmap batch 0", ["heatmap", *IMG, "--at", "30,20", "--batch-size", "0", "-o", "{d}/hm"],
     "argument --batch-size: must be at least 1, got 0"),
    ("heatmap seed -1", ["heatmap", *IMG, "--at", "30,20", "--seed", "-1", "-o", "{d}/hm"],
     "argument --seed: must be between 0 and 4294967295, got -1"),
    ("synth seed -1", ["synth", "--seed", "-1", "--out", "{d}/syn"], "argument --seed: must be between 0 and 4294967295, got -1"),
    ("init seed -1", ["init-checkpoint", "--out", "{d}/other", "--seed", "-1"], "argument --seed: must be between 0 and"),
    ("betas [2,3]", [*TRAIN, "--set", "train.betas=[2,3]"], "train.betas must be two numbers in [0, 1), got [2, 3]"),
    ("num_workers -1", [*TRAIN, "--set", "train.num_workers=-1"], "train.num_workers must be >= 0, got -1"),
    ("float channels", ["poke", "-c", "{d}/float_channels", "-i", "{d}/img.png", *POKE, "-o", "{d}/c.mp4"],
     "model.channels must be whole numbers"),
    ("missing channels", ["poke", "-c", "{d}/no_channels", "-i", "{d}/img.png", *POKE, "-o", "{d}/c.mp4"],
     "invalid model config: missing channels"),
    ("data_stats list", ["poke", "-c", "{d}/stats_list", "-i", "{d}/img.png", *POKE, "-o", "{d}/c.mp4"],
     "'data_stats' must be an object, got list"),
    ("training text", ["info", "{d}/training_text"], "'training' must be an object, got str"),
    (".safetensors folder", ["poke", "-c", "{d}/weights_folder", "-i", "{d}/img.png", *POKE, "-o", "{d}/c.mp4"],
     "weights_folder.safetensors is a folder"),
    (".json folder", ["info", "{d}/sidecar_folder"], "sidecar_folder.json is a folder"),
    ("--config folder", ["init-checkpoint", "--out", "{d}/other", "--config", "{d}/album"], "is a folder; give a TOML file"),
    ("sheet .xyz", ["synth", "--sheet", "{d}/sheet.xyz", "--out", "{d}/syn"], "name it .png or .jpg"),
    ("sheet folder", ["synth", "--sheet", "{d}/album", "--out", "{d}/syn"], "album is a folder"),
    ("bench resolutions abc", ["bench", "--resolutions", "abc"], "--resolutions 'abc': expected integers like 64,128"),
    ("bench repeats 0", ["bench", "--repeats", "0"], "argument --repeats: must be at least 1, got 0"),
    ("broken run.json", ["train", "--out", "{d}/run_broken_json", "--resume"],
     "--data is required: {d}/run_broken_json/run.json is unreadable"),
    ("prepare all bad", ["prepare", "--input", "{d}/videos", "--out", "{d}/prepared", "--quiet"],
     "none of the 2 inputs"),
]


# pytest records warnings itself, past the filter ``ipoke_core.image`` installs for the ipoke script
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("case,args,message", BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_bad_values_end_in_one_clear_line(hostile, monkeypatch, capsys, case, args, message):
    from ipoke_core.cli import main

    if "/proc" in message and not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    if "FIFO" in case and not (hostile / "fifo.png").exists():
        pytest.skip("no FIFOs on this system")
    monkeypatch.chdir(hostile)  # -o . and -o .. name this folder and its parent
    before, entries = snapshot(hostile), sorted(hostile.rglob("*"))
    rc = main([a.format(d=hostile) for a in args])
    err = capsys.readouterr().err
    assert rc == 2, (case, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("ipoke "), err
    assert ": error: " in lines[0] and message.format(d=hostile) in lines[0], err
    assert snapshot(hostile) == before, case
    assert sorted(hostile.rglob("*")) == entries, case  # not even an empty output folder (or data set) is left


def test_a_bad_value_through_the_ipoke_script(workdir):
    """The same one line (no usage block) and status from the real entry point in its own process; the
    core's errors take the path the tests above already prove in a subprocess."""
    before = snapshot(workdir)
    r = ipoke("poke", "-c", workdir / "model", "-i", workdir / "img.png", *POKE, "--fps", "nan", "-o", workdir / "n.gif")
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr.splitlines() == ["ipoke poke: error: argument --fps: expected a finite number, got 'nan' "
                                     "(see ipoke poke --help)"], r.stderr
    assert snapshot(workdir) == before


def test_resume_survives_a_garbage_metrics_row_and_clears_stale_temporaries(tmp_path, capsys):
    """A torn or hand-edited metrics.csv row no longer blocks --resume, and the temporaries a kill -9
    during a save left in state/ and checkpoints/ are removed when the run starts again."""
    from ipoke_core.cli import main
    from ipoke_core.data.synthetic.generate import generate_dataset

    data, run = tmp_path / "data", tmp_path / "run"
    generate_dataset(data, "plant", n=8, size=32, frames=6, seed=0, workers=1, flow_spans=(4,))
    train = ["train", "--config", "tiny", "--data", str(data), "--out", str(run), "--steps", "2", "--quiet",
             "--set", "train.batch_size=2", "--set", "train.ckpt_every=1"]
    assert main(train) == 0, capsys.readouterr().err
    with open(run / "metrics.csv", "a") as f:
        f.write("garbage,row\nnan\n")
    stale = [run / "state" / ".step_00000003.k2x9.tmp.pt", run / "checkpoints" / ".last.q7r1.tmp.safetensors"]
    for p in stale:
        p.write_bytes(b"half a file")
    assert main(["train", "--out", str(run), "--resume", "--quiet"]) == 0, capsys.readouterr().err
    steps = [line.split(",")[0] for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps and all(s == "2" for s in steps), steps
    assert not any(p.exists() for p in stale)
    assert sorted(p.name for p in (run / "state").iterdir()) == ["step_00000001.pt", "step_00000002.pt"]


def test_checkpoint_files_get_the_users_umask(tmp_path):
    """Weights and sidecar are written alike: 0644 under umask 022, not 0600 for the weights."""
    import os

    from ipoke_core.cli import main
    from ipoke_core.io_utils import current_umask

    assert main(["init-checkpoint", "--out", str(tmp_path / "m"), "--resolution", "32"]) == 0
    expected = 0o666 & ~current_umask()
    assert {os.stat(tmp_path / f"m{s}").st_mode & 0o777 for s in (".safetensors", ".json")} == {expected}


# ---- heatmap locations on big images, huge PNGs, untrustworthy checkpoints, full disks (issue 10) ----------

def _checkpoint(folder, name="model"):
    from ipoke_core.cli import main

    assert main(["init-checkpoint", "--out", str(folder / name), "--resolution", "32"]) == 0
    return folder / name


def test_heatmap_at_is_in_the_pixels_of_the_full_size_image(tmp_path, capsys):
    """A 2500x2000 image is worked on as a 2048x1638 copy; --at stays in the user's pixels, like poke's."""
    import json

    from ipoke_core.cli import main
    from ipoke_core.image import Framing

    model = _checkpoint(tmp_path)
    yy, xx = np.mgrid[0:2000, 0:2500]
    Image.fromarray(np.dstack([xx % 256, yy % 256, (xx // 10) % 256]).astype(np.uint8)).save(
        tmp_path / "big.png", compress_level=1)
    points = [(1800, 1500), (2200, 1900)]  # the second lies beyond the reduced copy: it used to be refused
    out = tmp_path / "hm"
    rc = main(["heatmap", "-c", str(model), "-i", str(tmp_path / "big.png"), "--at", "1800,1500", "--at", "2200,1900",
               "--n", "2", "--batch-size", "2", "--upscale", "1", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    full = Framing.center_crop(2500, 2000, 32)  # how the model sees the full-size image
    locations = json.loads((out / "heatmaps.json").read_text())["locations"]
    for (x, y), loc in zip(points, locations):
        assert loc["at_model_px"] == pytest.approx(full.to_model(x, y), abs=0.05), (x, y, loc)
    # outside the full-size image (but inside its reduced copy's numbers): named in the user's pixels
    rc = main(["heatmap", "-c", str(model), "-i", str(tmp_path / "big.png"), "--at", "2000,2010", "-o", str(out)])
    assert rc == 2 and "--at 2000,2010 is outside the 2500x2000 image" in capsys.readouterr().err


def _write_png_rows(path, width, height):
    """A ``width x height`` RGB PNG written row by row: no full-size array in the test process."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    comp = zlib.compressobj(1)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        body = [comp.compress(b"\x00" + bytes([y % 256, 60, 128]) * width) for y in range(height)]
        f.write(chunk(b"IDAT", b"".join(body) + comp.flush()) + chunk(b"IEND", b""))


def test_a_huge_png_is_decoded_with_one_full_size_copy(tmp_path):
    """Peak memory of load_image on a 12000x12000 PNG, measured in a fresh process. Pillow decodes RGB
    at 4 bytes a pixel (549 MiB here). Measured (2 busy cores): before 1376 MiB over the imports
    (decode + NumPy copy + more), after 660 MiB (the decode + one 2048-wide resampling pass)."""
    side = 12000
    _write_png_rows(tmp_path / "huge.png", side, side)
    code = ("import resource, sys\n"
            "from ipoke_core.image import load_image\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "a = load_image(sys.argv[1])\n"
            "print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, *a.shape, int(a[..., 2].mean()))\n")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "huge.png")], capture_output=True, text=True,
                       timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    before_kb, after_kb, h, w, c, blue = map(int, r.stdout.split())
    assert (h, w, c, blue) == (2048, 2048, 3, 128)
    extra = (after_kb - before_kb) * 1024
    one_decode = side * side * 4
    assert extra < 1.5 * one_decode, f"peak {extra / 2**20:.0f} MiB over the imports for a {one_decode / 2**20:.0f} MiB decode"


def test_checkpoints_with_nan_or_inf_weights_are_refused(tmp_path, capsys):
    """A diverged run saves NaN weights with a valid checksum; they used to make black videos."""
    import torch

    from ipoke_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from ipoke_core.cli import main
    from ipoke_core.config import default_model_config
    from ipoke_core.model import IPoke

    model = IPoke(default_model_config(32))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    save_checkpoint(tmp_path / "nan", model)
    with pytest.raises(CheckpointError, match="contains NaN or inf"):
        load_checkpoint(tmp_path / "nan")
    model = IPoke(default_model_config(32))
    with torch.no_grad():
        next(model.parameters())[0] = float("inf")
    save_checkpoint(tmp_path / "inf", model)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "img.png")
    for name in ("nan", "inf"):
        rc = main(["poke", "-c", str(tmp_path / name), "-i", str(tmp_path / "img.png"), *POKE, "-o",
                   str(tmp_path / "v.mp4")])
        err = capsys.readouterr().err
        assert rc == 2 and "contains NaN or inf" in err and "Traceback" not in err, err
        assert not (tmp_path / "v.mp4").exists()


def test_a_sidecar_without_checksum_loads_only_with_allow_unverified(tmp_path, capsys):
    import json

    from ipoke_core.checkpoint import CheckpointError, load_checkpoint
    from ipoke_core.cli import main
    from ipoke_core.inference import Poker

    model = _checkpoint(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    del meta["weights_sha256"]
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="records no weights checksum"):
        load_checkpoint(model)
    with pytest.raises(CheckpointError, match="records no weights checksum"):
        Poker.from_checkpoint(model, "cpu")
    assert Poker.from_checkpoint(model, "cpu", allow_unverified=True).resolution == 32
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "img.png")
    poke = ["poke", "-c", str(model), "-i", str(tmp_path / "img.png"), *POKE, "-o", str(tmp_path / "v.gif")]
    assert main(poke) == 2
    err = capsys.readouterr().err
    assert "records no weights checksum" in err and "--allow-unverified" in err and len(err.splitlines()) == 1, err
    assert main([*poke, "--allow-unverified"]) == 0
    err = capsys.readouterr().err
    assert "warning: --allow-unverified" in err and "UNVERIFIED" in err, err
    assert main(["info", str(model)]) == 2 and "records no weights checksum" in capsys.readouterr().err
    assert main(["info", str(model), "--allow-unverified"]) == 0


# A full disk is simulated by making one writer raise ENOSPC (or, for torch.save, which reports a failed write
# as a RuntimeError without an errno, by a RuntimeError while the file system reports no free space).

def _no_space(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


def _full_disk_setup(verb, d, monkeypatch):
    """Prepare ``d`` for one full-disk case: earlier outputs to keep, the failing writer; returns the argv."""
    import shutil

    from ipoke_core.cli import main
    from ipoke_core.data.synthetic.generate import generate_dataset

    img = ["-i", str(d / "img.png")]
    if verb in ("poke mp4", "poke frames", "heatmap", "init-checkpoint weights", "init-checkpoint sidecar"):
        _checkpoint(d)
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(d / "img.png")
    if verb == "poke mp4":
        (d / "out.mp4").write_bytes(b"an earlier export")
        monkeypatch.setattr("imageio_ffmpeg.write_frames", _no_space)
        return ["poke", "-c", str(d / "model"), *img, *POKE, "-o", str(d / "out.mp4"), "--overwrite"]
    if verb == "poke frames":
        args = ["poke", "-c", str(d / "model"), *img, *POKE, "-o", str(d / "frames"), "--upscale", "1", "--overwrite"]
        assert main(args) == 0  # the earlier export the failing one must leave as it was
        monkeypatch.setattr(Image.Image, "save", _no_space)
        return args
    if verb == "heatmap":
        (d / "hm").mkdir()
        (d / "hm" / "loc1_heatmap.npy").write_bytes(b"an earlier heatmap")
        monkeypatch.setattr(np, "save", _no_space)
        return ["heatmap", "-c", str(d / "model"), *img, "--at", "30,20", "--n", "2", "--batch-size", "2", "-o", str(d / "hm"),
                "--overwrite"]
    if verb.startswith("init-checkpoint"):
        if verb.endswith("weights"):
            monkeypatch.setattr("ipoke_core.checkpoint.save_file", _no_space)
        else:  # the weights are written, the sidecar is not: neither may replace the old pair
            monkeypatch.setattr(Path, "write_text", _no_space)
        return ["init-checkpoint", "--out", str(d / "model"), "--resolution", "32", "--seed", "3", "--overwrite"]
    if verb == "synth":
        monkeypatch.setattr("ipoke_core.data.synthetic.generate.save_ground_truth", _no_space)
        return ["synth", "--n", "2", "--size", "32", "--frames", "6", "--flow-spans", "4", "--workers", "1",
                "--out", str(d / "syn"), "--quiet"]
    if verb == "prepare":
        frames = d / "videos" / "clip"
        frames.mkdir(parents=True)
        base = np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8)
        for i in range(8):
            Image.fromarray(np.roll(base, i, axis=1)).save(frames / f"frame_{i}.png")
        monkeypatch.setattr(np, "save", _no_space)
        return ["prepare", "--input", str(d / "videos"), "--out", str(d / "prepared"), "--size", "16", "--span", "4",
                "--quiet"]
    if verb == "train":
        import collections

        data, run = d / "data", d / "run"
        generate_dataset(data, "plant", n=8, size=32, frames=6, seed=0, workers=1, flow_spans=(4,))
        train = ["train", "--config", "tiny", "--data", str(data), "--out", str(run), "--steps", "2", "--quiet",
                 "--set", "train.batch_size=2", "--set", "train.ckpt_every=1"]
        assert main([*train, "--until-step", "1"]) == 0  # state/step_00000001.pt and checkpoints/last to keep

        def torch_save_on_full_disk(*args, **kwargs):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")

        usage = collections.namedtuple("usage", "total used free")
        monkeypatch.setattr("torch.save", torch_save_on_full_disk)
        monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 << 30, 10 << 30, 0))
        return ["train", "--out", str(run), "--resume", "--quiet"]
    raise AssertionError(verb)


FULL_DISK = ["poke mp4", "poke frames", "heatmap", "init-checkpoint weights", "init-checkpoint sidecar", "synth",
             "prepare", "train"]


@pytest.mark.parametrize("verb", FULL_DISK)
def test_a_full_disk_is_one_clear_line_and_keeps_what_was_there(tmp_path, monkeypatch, capsys, verb):
    from ipoke_core.cli import main
    from ipoke_core.io_utils import mount_point

    argv = _full_disk_setup(verb, tmp_path, monkeypatch)
    capsys.readouterr()
    before = snapshot(tmp_path)
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, (verb, err)
    # (heatmap draws a progress bar on stderr)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:") and "%|" not in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"ipoke {argv[0]}: error: no space left on {mount_point(tmp_path)} (writing "), err
    if verb == "train":  # its log and metrics.csv are appended to by design; the saved states and checkpoints count
        before = {p: h for p, h in before.items() if p.parent.name in ("state", "checkpoints")}
        assert len(before) == 3, before  # step_00000001.pt, last.safetensors, last.json
    after = snapshot(tmp_path)
    assert {p: after.get(p) for p in before} == before, verb  # every earlier file is byte-identical
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name], verb  # no half-written leftovers
