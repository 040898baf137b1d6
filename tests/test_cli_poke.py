"""`ipoke init-checkpoint`, `ipoke poke` and `ipoke info` end to end in a subprocess, with every bad input."""
import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model


def ipoke(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ipoke_core.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    r = ipoke("init-checkpoint", "--out", d / "rand", "--resolution", 32)
    assert r.returncode == 0, r.stderr
    assert "UNTRAINED" in r.stdout
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(d / "img.png")
    return d


def test_poke_writes_all_outputs(workdir):
    r = ipoke("poke", "-c", workdir / "rand", "-i", workdir / "img.png", "--at", "80,60", "--by", "10,-5",
              "--at", "70,50", "--by", "-4,4", "-o", workdir / "out.mp4", "--gif", "--frames", "--strip", "--upscale", 2)
    assert r.returncode == 0, r.stderr
    assert "UNTRAINED" in r.stderr
    reader = imageio_ffmpeg.read_frames(str(workdir / "out.mp4"))
    assert next(reader)["size"] == (120, 120)  # the 120 px square of the photo at its own resolution (> 32 x 2)
    assert len(list(reader)) == 11  # source + 10 generated frames
    assert "drawn at the photo's resolution, 120 px" in r.stdout
    assert (workdir / "out.gif").exists() and (workdir / "out_strip.png").exists()
    assert len(list((workdir / "out_frames").glob("*.png"))) == 11
    info = ipoke("info", workdir / "rand")
    assert info.returncode == 0 and "NO (random initialisation)" in info.stdout
    small = ipoke("poke", "-c", workdir / "rand", "-i", workdir / "img.png", "--at", "80,60", "--by", "10,-5",
                  "-o", workdir / "small.mp4", "--upscale", 2, "--model-size")
    assert small.returncode == 0, small.stderr
    assert next(imageio_ffmpeg.read_frames(str(workdir / "small.mp4")))["size"] == (64, 64)  # 32 px x 2


def _bad_files(d):
    (d / "notes.txt").write_text("not an image")
    Image.new("RGB", (1, 1)).save(d / "one.png")
    (d / "corrupt.safetensors").write_bytes(b"junk")
    (d / "corrupt.json").write_text('{"format": "ipoke-checkpoint"')


@pytest.mark.parametrize("case,args,message", [
    ("non-image", ["-i", "{d}/notes.txt"], "not a readable image"),
    ("missing image", ["-i", "{d}/nope.png"], "no such file"),
    ("1x1", ["-i", "{d}/one.png"], "at least 2x2"),
    ("outside", ["--at", "500,60"], "outside the 160x120 image"),
    ("zero", ["--by", "0,0"], "zero length"),
    ("nan", ["--at", "nan,3"], "non-finite"),
    ("garbled", ["--at", "12"], "expected two numbers"),
    ("missing ckpt", ["-c", "{d}/none"], "not found"),
    ("corrupt ckpt", ["-c", "{d}/corrupt"], "not valid JSON"),
    ("extension", ["-o", "{d}/out.avi"], "unknown extension"),
    ("unwritable", ["-o", "{d}/notes.txt/out.mp4"], "cannot create output folder"),
])
def test_bad_input_gives_one_clear_line(workdir, case, args, message):
    _bad_files(workdir)
    base = {"-c": str(workdir / "rand"), "-i": str(workdir / "img.png"), "--at": "80,60", "--by": "10,-5",
            "-o": str(workdir / "bad.mp4")}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value.format(d=workdir)
    r = ipoke("poke", *[x for kv in base.items() for x in kv])
    assert r.returncode == 2, (case, r.stdout, r.stderr)
    assert message in r.stderr, (case, r.stderr)
    assert "Traceback" not in r.stderr
