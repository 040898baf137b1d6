"""Checkpoints round-trip exactly and refuse bad files; Poker maps pokes; exports decode back."""
import json
import os

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image

from ipoke_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ipoke_core.config import ModelConfig
from ipoke_core.export import ExportError, export_video, frame_strip
from ipoke_core.inference import Poker
from ipoke_core.io_utils import OutputError
from ipoke_core.model import IPoke
from ipoke_core.poke import Poke, PokeError

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model

CFG = dict(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=4)


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    model = IPoke(ModelConfig(**CFG))
    save_checkpoint(tmp_path / "m", model, {"trained": True, "training": {"steps": 3}})
    return tmp_path / "m", model


def test_round_trip_is_bit_identical(ckpt):
    path, model = ckpt
    loaded, meta = load_checkpoint(path)
    assert meta["trained"] and meta["training"]["steps"] == 3 and meta["model"]["channels"] == [8, 16]
    x, p = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 2, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x, p)[0], loaded(x, p)[0])
    for name in ("m.safetensors", "m.json", "m"):  # every way of naming it works
        load_checkpoint(path.parent / name)


def test_truncated_weights_are_refused(ckpt):
    path, _ = ckpt
    w = path.with_name("m.safetensors")
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="checksum|corrupt"):
        load_checkpoint(path)


def test_garbage_weights_without_checksum_are_refused(ckpt):
    path, _ = ckpt
    meta = json.loads(path.with_name("m.json").read_text())
    del meta["weights_sha256"]
    path.with_name("m.json").write_text(json.dumps(meta))
    path.with_name("m.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="records no weights checksum"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(path, allow_unverified=True)


def test_wrong_architecture_and_version_are_named(ckpt, tmp_path):
    path, _ = ckpt
    side = path.with_name("m.json")
    meta = json.loads(side.read_text())
    side.write_text(json.dumps(meta | {"format_version": 99}))
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)
    side.write_text(json.dumps(meta | {"architecture": "savp"}))
    with pytest.raises(CheckpointError, match="savp"):
        load_checkpoint(path)
    # weights of another model under this sidecar
    other = IPoke(ModelConfig(**(CFG | {"channels": [8, 32]})))
    save_checkpoint(tmp_path / "o", other)
    os.replace(tmp_path / "o.safetensors", path.with_name("m.safetensors"))
    meta.pop("weights_sha256")
    side.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="does not fit the architecture"):
        load_checkpoint(path, allow_unverified=True)


def test_missing_and_corrupt_sidecar(ckpt):
    path, _ = ckpt
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(path.with_name("nothing"))
    path.with_name("m.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(path)


def test_poker_maps_pokes_into_the_crop_and_batches(ckpt, tmp_path):
    path, _ = ckpt
    poker = Poker.from_checkpoint(path, "cpu")
    assert poker.trained and poker.resolution == 32
    img = np.random.default_rng(0).integers(0, 255, (100, 200, 3), dtype=np.uint8)
    video = poker.poke(img, Poke(100, 50, 10, 0))  # center crop: x0 = 50, side 100 -> scale 0.32
    assert video.frames.shape == (4, 32, 32, 3) and video.source.shape == (32, 32, 3)
    q = video.pokes[0]
    # pixel centres: model x = (x - x0 + 0.5) * 32 / 100 - 0.5
    assert (q.x, q.y, q.dx) == pytest.approx((50.5 * 0.32 - 0.5, 50.5 * 0.32 - 0.5, 3.2), abs=1e-6)
    with pytest.raises(PokeError, match="outside the square"):
        poker.poke(img, Poke(10, 50, 5, 0))  # inside the image but left of the crop
    lb = poker.poke(img, Poke(10, 50, 5, 0), letterbox=True)
    assert lb.pokes[0].x < 3
    videos = poker.poke_batch(img, [[Poke(100, 50, 5, 0)], [Poke(120, 40, 0, 5), Poke(80, 60, 3, 3)]], batch_size=1)
    assert len(videos) == 2 and len(videos[1].pokes) == 2
    # the same poke alone and inside a batch gives the same video
    single = poker.poke(img, Poke(100, 50, 5, 0))
    assert np.abs(single.frames.astype(int) - videos[0].frames.astype(int)).max() <= 1
    # a path works, and pokes stay in the file's own pixels
    Image.fromarray(img).save(tmp_path / "img.png")
    assert poker.poke(tmp_path / "img.png", Poke(100, 50, 10, 0)).pokes[0].x == pytest.approx(q.x)


def test_mp4_gif_frames_and_strip(ckpt, tmp_path):
    path, _ = ckpt
    poker = Poker.from_checkpoint(path, "cpu")
    video = poker.poke(np.full((64, 64, 3), 128, np.uint8), Poke(30, 30, 8, 4))
    out = export_video(video, tmp_path / "v.mp4", upscale=3)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = list(reader)
    assert meta["size"] == (96, 96) and len(frames) == video.n_frames + 1
    gif = Image.open(export_video(video, tmp_path / "v.gif", upscale=2))
    assert gif.n_frames == video.n_frames + 1 and gif.size == (64, 64)
    folder = export_video(video, tmp_path / "frames", upscale=1, overlay=False)
    assert sorted(p.name for p in folder.iterdir())[0] == "frame_000.png" and len(list(folder.iterdir())) == 5
    assert np.array_equal(np.asarray(Image.open(folder / "frame_001.png")), video.frames[0])
    strip = frame_strip(video, upscale=2)
    assert strip.shape == (64, 5 * 64 + 4 * 2, 3)
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind


def test_overlay_draws_the_arrow_in_red(ckpt):
    from ipoke_core.export import render_frames

    video = Poker.from_checkpoint(ckpt[0], "cpu").poke(np.full((64, 64, 3), 128, np.uint8), Poke(20, 20, 20, 0))
    plain = render_frames(video, 4, overlay=False)
    marked = render_frames(video, 4, overlay=True)
    diff = np.any(plain[0] != marked[0], axis=-1)
    ys, xs = np.nonzero(diff)
    assert xs.min() < 45 and xs.max() > 75  # the arrow spans from x=10 to x=20 model px at 4x (target dot included)
    assert (marked[0][diff][:, 0] > marked[0][diff][:, 2]).mean() > 0.9


def test_export_bad_paths(ckpt, tmp_path):
    video = Poker.from_checkpoint(ckpt[0], "cpu").poke(np.zeros((32, 32, 3), np.uint8), Poke(10, 10, 3, 3))
    with pytest.raises(ExportError, match="unknown extension"):
        export_video(video, tmp_path / "v.avi")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # running as root: permissions do not apply; use a path under a file
        blocker = tmp_path / "file"
        blocker.write_text("x")
        target = blocker / "v.mp4"
    else:
        target = locked / "v.mp4"
    with pytest.raises(OutputError):
        export_video(video, target)
