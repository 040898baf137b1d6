"""``ipoke prepare``: real mp4 files and frame folders in, a trainable data set out; bad inputs."""
import json

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from ipoke_core.cli import main
from ipoke_core.data import DatasetError, PokeDataset, read_dataset_meta, read_split
from ipoke_core.data.prepare import PrepareError, ensure_flow, prepare_videos
from ipoke_core.data.sources import SourceError, discover


def write_mp4(path, n_frames=24, size=(96, 72), faststart=False, seed=0):
    """A real H.264 mp4: a textured square sliding right 1 px per frame over a textured background."""
    rng = np.random.default_rng(seed)
    w, h = size
    background = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 4)
    patch = cv2.normalize(cv2.GaussianBlur(rng.random((20, 20, 3)).astype(np.float32), (0, 0), 2.5), None, 40, 255,
                          cv2.NORM_MINMAX).astype(np.uint8)
    params = ["-movflags", "+faststart"] if faststart else None
    writer = imageio_ffmpeg.write_frames(str(path), size, fps=10, macro_block_size=1, output_params=params,
                                         quality=8)
    writer.send(None)
    for t in range(n_frames):
        f = background.copy()
        x = 30 + t % 40
        f[26:46, x:x + 20] = patch
        writer.send(np.ascontiguousarray(f).tobytes())
    writer.close()


def write_frame_folder(folder, n=14, size=(40, 40), odd_size_at=None):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    for i in range(n):
        img = base if odd_size_at != i else base[:20, :30]
        cv2.imwrite(str(folder / f"frame_{i}.png"), np.roll(img, i, axis=1))


def test_a_real_mp4_is_ingested_and_serves_training_samples(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    write_mp4(src / "slide.mp4")
    write_mp4(src / "other.mp4", seed=3)
    out = tmp_path / "prepared"
    meta = prepare_videos(src, out, size=48, spans=(10,))
    assert meta == read_dataset_meta(out) and meta["kind"] == "video" and not meta["has_ground_truth"]
    assert meta["window_starts"] == "all" and meta["fps"] == 10.0
    assert sorted(read_split(out, "train") + read_split(out, "test")) == ["other", "slide"]
    frames = np.load(out / "clips" / "slide" / "frames.npy")
    assert frames.shape == (24, 48, 48, 3) and frames.dtype == np.uint8
    flow = np.load(out / "clips" / "slide" / "flow_w10.npy")
    assert flow.shape == (14, 48, 48, 2) and flow.dtype == np.float16
    # the square moves 10 source px right over 10 frames; the center crop is 72 px -> 48 px (x 2/3)
    fx = flow[0, 20:28, 14:24, 0].astype(np.float32)  # inside the square at frame 0 (x 12..25, y 17..30)
    assert np.median(fx) == pytest.approx(10 * 48 / 72, abs=1.0)
    assert np.load(out / "clips" / "slide" / "step_motion.npy").shape == (23,)
    train_id = read_split(out, "train")[0]
    ds = PokeDataset(out, "train", resolution=32, seq_len=10)
    assert len(ds) == 14  # a window at every start frame
    item = ds[5]
    assert item["frames"].shape == (10, 3, 32, 32) and item["clip_id"] == train_id and item["start"] == 5
    assert not bool(item["has_gt"])
    test = PokeDataset(out, "test", resolution=32, seq_len=10, train=False)
    assert [it[1] for it in test.items] == [0, 10]  # evaluation windows do not overlap


def test_bad_inputs_are_skipped_with_warnings_and_the_rest_is_prepared(tmp_path):
    src = tmp_path / "mixed"
    src.mkdir()
    write_mp4(src / "good.mp4")
    write_mp4(src / "one_frame.mp4", n_frames=1)
    write_mp4(src / "short.mp4", n_frames=6)
    write_mp4(tmp_path / "full.mp4", n_frames=80, faststart=True)  # index first: a cut file still plays
    data = (tmp_path / "full.mp4").read_bytes()
    (src / "broken_half_way.mp4").write_bytes(data[: len(data) * 3 // 4])
    (src / "not_a_video.mp4").write_bytes(b"this is text")
    (src / "notes.docx").write_bytes(b"\x00\x01")
    write_frame_folder(src / "frames_ok")
    write_frame_folder(src / "frames_mixed_sizes", n=16, odd_size_at=12)
    warnings = []
    meta = prepare_videos(src, tmp_path / "out", size=32, warn=warnings.append)
    text = "\n".join(warnings)
    assert "notes.docx" in text
    assert "one_frame.mp4: only one frame" in text
    assert "short.mp4: 6 frames, shorter than one window of 11 frames" in text
    assert "not_a_video.mp4: cannot be decoded" in text
    assert "broken_half_way.mp4: only" in text  # decoded part way: kept, with a warning
    assert "differs from the first frame" in text
    prepared = sorted(read_split(tmp_path / "out", "train") + read_split(tmp_path / "out", "test"))
    assert prepared == ["broken_half_way", "frames_mixed_sizes", "frames_ok", "good"]
    assert {s["id"] for s in meta["skipped"]} == {"one_frame", "short", "not_a_video"}
    assert np.load(tmp_path / "out" / "clips" / "frames_mixed_sizes" / "frames.npy").shape[0] == 12
    n_broken = np.load(tmp_path / "out" / "clips" / "broken_half_way" / "frames.npy").shape[0]
    assert 11 <= n_broken < 80


def test_empty_and_missing_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="empty"):
        prepare_videos(tmp_path / "empty", tmp_path / "o1")
    with pytest.raises(SourceError, match="does not exist"):
        prepare_videos(tmp_path / "nope", tmp_path / "o2")
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    write_mp4(only_bad / "tiny.mp4", n_frames=3)
    with pytest.raises(PrepareError, match="none of the 1 inputs"):
        prepare_videos(only_bad, tmp_path / "o3")


def test_prepare_resumes_and_repairs_a_flow_cache_of_another_resolution(tmp_path):
    src = tmp_path / "v"
    write_frame_folder(src / "a")
    write_frame_folder(src / "b")
    out = tmp_path / "out"
    prepare_videos(src, out, size=32)
    frames_file = out / "clips" / "a" / "frames.npy"
    stamp = frames_file.stat().st_mtime_ns
    np.save(out / "clips" / "a" / "flow_w10.npy", np.zeros((4, 16, 16, 2), np.float16))  # wrong cache
    with pytest.raises(DatasetError, match="another resolution"):
        ds = PokeDataset(out, "train" if "a" in read_split(out, "train") else "test", resolution=32, train=True)
        [ds[i] for i in range(len(ds))]
    prepare_videos(src, out, size=32)  # the same command again: keeps the frames, recomputes the bad cache
    assert frames_file.stat().st_mtime_ns == stamp
    assert np.load(out / "clips" / "a" / "flow_w10.npy").shape == (4, 32, 32, 2)
    with pytest.raises(PrepareError, match="resolution=32"):
        prepare_videos(src, out, size=64)
    # another window length later: --flow-only adds its cache
    assert ensure_flow(out, 5) == 2
    assert read_dataset_meta(out)["flow_spans"] == [5, 10]
    assert len(PokeDataset(out, "train", resolution=32, seq_len=5)) > 0


def test_layout_adapters_take_their_split(tmp_path):
    taichi = tmp_path / "taichi"
    write_frame_folder(taichi / "train" / "clipA#001", n=3)
    write_frame_folder(taichi / "test" / "clipB#002", n=3)
    sources, _, layout = discover(taichi)
    assert layout == "taichi" and {s.id: s.split for s in sources} == {"train__clipA_001": "train",
                                                                       "test__clipB_002": "test"}
    h36m = tmp_path / "h36m"
    write_frame_folder(h36m / "S1" / "Walking" / "cam1", n=3)
    write_frame_folder(h36m / "S9" / "Walking" / "cam1", n=3)
    sources, _, layout = discover(h36m)
    assert layout == "h36m" and {s.split for s in sources if s.id.startswith("S9")} == {"test"}
    plants = tmp_path / "pp"
    for plant in range(12):
        write_frame_folder(plants / f"VID_{plant}_0", n=2)
        write_frame_folder(plants / f"VID_{plant}_1", n=2)
    sources, _, layout = discover(plants)
    assert layout == "pokingplants"
    by_plant = {}
    for s in sources:
        by_plant.setdefault(s.id.split("_")[1], set()).add(s.split)
    assert all(len(v) == 1 for v in by_plant.values())  # a plant never sits in both splits


def test_prepare_cli(tmp_path, capsys):
    src = tmp_path / "v"
    src.mkdir()
    write_mp4(src / "clip.mp4", n_frames=14)
    (src / "readme.md").write_text("not a video")
    rc = main(["prepare", "--input", str(src), "--out", str(tmp_path / "o"), "--size", "32", "--quiet"])
    assert rc == 0 and "1 videos" in capsys.readouterr().out
    rc = main(["prepare", "--input", str(tmp_path / "missing"), "--out", str(tmp_path / "o2"), "--quiet"])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    meta = json.loads((tmp_path / "o" / "dataset.json").read_text())
    assert meta["layout"] == "folder" and meta["complete"]
