"""Nothing a user owns is destroyed: every writer refuses to replace what it did not create (issue 10).

Each case runs through the real CLI entry point in a subprocess and checks exit code 2, one clear
line on stderr without a traceback, and that every file that existed before is byte-identical after.
"""
import hashlib
import subprocess
import sys

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
                                   "--overwrite"], "is the input image"),
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
