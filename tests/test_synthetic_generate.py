"""``ipoke synth`` / ``generate_dataset``: layout on disk, determinism across runs and workers, resume."""
import json

import numpy as np
import pytest

from ipoke_core.cli import main
from ipoke_core.data import load_ground_truth, read_dataset_meta, read_split
from ipoke_core.data.synthetic.clip import make_clip
from ipoke_core.data.synthetic.generate import SynthError, generate_dataset


def test_generate_writes_the_documented_layout(tmp_path):
    out = tmp_path / "plants"
    calls = []
    meta = generate_dataset(out, "plant", n=5, size=64, frames=12, seed=3, workers=2,
                            progress=lambda d, t, m: calls.append((d, t)))
    assert calls[-1] == (5, 5)
    disk = read_dataset_meta(out)
    assert disk == meta
    assert disk["kind"] == "plant" and disk["resolution"] == 64 and disk["n_frames"] == 12
    assert disk["has_ground_truth"] and disk["complete"] and disk["flow_spans"] == [10]
    assert disk["poke_stats"]["p95_magnitude_px"] >= disk["poke_stats"]["mean_magnitude_px"] > 0
    train, test = read_split(out, "train"), read_split(out, "test")
    assert sorted(train + test) == [f"{i:06d}" for i in range(5)] and test == ["000004"]
    clip = out / "clips" / "000002"
    frames = np.load(clip / "frames.npy")
    assert frames.shape == (12, 64, 64, 3) and frames.dtype == np.uint8
    flow = np.load(clip / "flow_w10.npy")
    assert flow.shape == (1, 64, 64, 2) and flow.dtype == np.float16
    assert np.load(clip / "step_motion.npy").shape == (11,)
    # clip i is the same whether made by a worker of a 5-clip run or alone
    alone = make_clip("plant", seed=3, index=2, size=64, n_frames=12)
    assert np.array_equal(frames, alone.frames)
    gt = load_ground_truth(out, "000002")
    assert gt["motion"].shape == (12, 64, 64, 2) and gt["parts"].shape == (64, 64)
    assert len(gt["parents"]) == len(alone.parents) and gt["parents"][0] == -1
    assert np.array_equal(gt["mask"], gt["parts"] >= 0)
    # the recorded end displacement is the true motion of the poked pixel at the last frame
    x, y, dx, dy = gt["poke"]
    assert np.allclose(gt["motion"][-1, int(y), int(x)], [dx, dy], atol=0.05)
    # ground truth at half resolution: same object, motion in the new pixels
    half = load_ground_truth(out, "000002", resolution=32)
    assert half["motion"].shape == (12, 32, 32, 2)
    assert abs(half["mask"].mean() - gt["mask"].mean()) < 0.05
    ratio = np.abs(half["motion"][-1]).max() / max(np.abs(gt["motion"][-1]).max(), 1e-6)
    assert 0.35 < ratio < 0.65


def test_generate_resumes_and_refuses_a_different_data_set(tmp_path):
    out = tmp_path / "figs"
    generate_dataset(out, "figure", n=3, size=32, frames=12, seed=0, workers=1)
    first = (out / "clips" / "000001" / "frames.npy").stat().st_mtime_ns
    # an interrupted run: one clip missing and the data set marked incomplete
    import shutil

    shutil.rmtree(out / "clips" / "000002")
    meta = json.loads((out / "dataset.json").read_text())
    meta["complete"] = False
    (out / "dataset.json").write_text(json.dumps(meta))
    generate_dataset(out, "figure", n=3, size=32, frames=12, seed=0, workers=1)
    assert (out / "clips" / "000001" / "frames.npy").stat().st_mtime_ns == first  # kept, not redone
    assert (out / "clips" / "000002" / "gt.npz").is_file()
    assert read_dataset_meta(out)["complete"]
    with pytest.raises(SynthError, match="different data set"):
        generate_dataset(out, "figure", n=3, size=32, frames=12, seed=1, workers=1)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(SynthError, match="not empty"):
        generate_dataset(tmp_path / "junk", "plant", n=1, size=32, frames=12)


def test_pushes_show_each_object_pushed_at_several_points(tmp_path):
    """``--pushes 3``: clips 3o..3o+2 are object o (single-push clip o exactly for the first), pushed at
    different points so that they move differently; an object's clips are all train or all test."""
    out = tmp_path / "pushed"
    assert main(["synth", "--kind", "figure", "--n", "6", "--size", "64", "--frames", "12", "--seed", "3",
                 "--pushes", "3", "--workers", "1", "--out", str(out), "--quiet"]) == 0
    meta = read_dataset_meta(out)
    assert meta["pushes"] == 3 and meta["source"].endswith("--pushes 3")
    assert read_split(out, "train") == ["000000", "000001", "000002"]
    assert read_split(out, "test") == ["000003", "000004", "000005"]
    for obj in range(2):
        frames = [np.load(out / "clips" / f"{3 * obj + k:06d}" / "frames.npy") for k in range(3)]
        gts = [load_ground_truth(out, f"{3 * obj + k:06d}") for k in range(3)]
        assert np.array_equal(frames[0], make_clip("figure", seed=3, index=obj, size=64, n_frames=12).frames)
        assert all(np.array_equal(f[0], frames[0][0]) for f in frames)  # one object, one first frame
        assert len({tuple(g["poke"][:2]) for g in gts}) == 3  # pushed at three points
        assert all(np.abs(g["motion"][-1] - gts[0]["motion"][-1]).max() > 1.0 for g in gts[1:])
    with pytest.raises(SynthError, match="different data set.*pushes"):
        generate_dataset(out, "figure", n=6, size=64, frames=12, seed=3, workers=1)
    with pytest.raises(SynthError, match="--pushes"):
        generate_dataset(tmp_path / "y", "plant", n=2, size=32, frames=12, pushes=3)


def test_pushes_any_way_point_every_way_and_are_recorded(tmp_path):
    """``--push-directions any``: the same objects, pushed any way (the default pushes across the poked
    part, within about 50 degrees of square to it); the data set says so and refuses the other kind."""
    from ipoke_core.data.synthetic.clip import posed_object

    out = tmp_path / "any"
    assert main(["synth", "--kind", "plant", "--n", "2", "--size", "64", "--frames", "12", "--seed", "3",
                 "--push-directions", "any", "--workers", "1", "--out", str(out), "--quiet"]) == 0
    meta = read_dataset_meta(out)
    assert meta["push_directions"] == "any" and meta["source"].endswith("--push-directions any")

    def off_square(directions: str) -> list[float]:  # degrees between each push and square to its part
        angles = []
        for index in range(40):
            obj = posed_object("plant", 3, index, 64, directions=directions)
            push = np.arctan2(obj.poke.force[1], obj.poke.force[0]) - obj.angles0[obj.poke.part]
            angles.append(abs(abs(np.degrees(np.angle(np.exp(1j * push)))) - 90))
        return angles

    assert max(off_square("across")) < 75 and np.mean(off_square("across")) < 30
    assert np.mean(off_square("any")) > 35  # uniform directions: 45 on average
    assert np.array_equal(posed_object("plant", 3, 5, 64, directions="any").labels,
                          posed_object("plant", 3, 5, 64).labels)  # the same object
    with pytest.raises(SynthError, match="different data set.*push_directions"):
        generate_dataset(out, "plant", n=2, size=64, frames=12, seed=3, workers=1)


@pytest.mark.parametrize("kind", ["plant", "figure"])
def test_props_are_static_scenery_behind_the_same_motion(kind):
    """``props``: the same object moving the same way (parts, poses, poke), in front of props that never
    move: wherever the props-free clip does not change between frames, the clip with props does not either."""
    changed = 0
    for index in range(4):
        plain = make_clip(kind, seed=1, index=index, size=64, n_frames=12)
        with_props = make_clip(kind, seed=1, index=index, size=64, n_frames=12, props=6)
        assert np.array_equal(plain.parts, with_props.parts) and np.array_equal(plain.angles, with_props.angles)
        assert plain.poke == with_props.poke
        background = plain.parts < 0
        drawn = np.any(plain.frames[0] != with_props.frames[0], axis=-1) & background
        changed += int(drawn.sum())
        still = np.all(plain.frames == plain.frames[:1], axis=(0, 3))
        assert np.array_equal(with_props.frames[:, still], np.broadcast_to(with_props.frames[:1, still], with_props.frames[:, still].shape))
    assert changed > 4 * 64  # props were drawn (up to 6 per scene, some scenes may have none)


def test_props_are_recorded_and_shared_by_an_objects_pushes(tmp_path):
    out = tmp_path / "props"
    assert main(["synth", "--kind", "plant", "--n", "4", "--size", "64", "--frames", "12", "--seed", "2",
                 "--pushes", "2", "--props", "5", "--workers", "1", "--out", str(out), "--quiet"]) == 0
    meta = read_dataset_meta(out)
    assert meta["props"] == 5 and meta["source"].endswith("--pushes 2 --props 5")
    frames = [np.load(out / "clips" / f"{k:06d}" / "frames.npy") for k in range(4)]
    assert np.array_equal(frames[0][0], frames[1][0]) and np.array_equal(frames[2][0], frames[3][0])
    assert np.array_equal(frames[0], make_clip("plant", seed=2, index=0, size=64, n_frames=12, props=5).frames)
    with pytest.raises(SynthError, match="different data set.*props"):
        generate_dataset(out, "plant", n=4, size=64, frames=12, seed=2, workers=1, pushes=2)
    with pytest.raises(SynthError, match="--props must be in"):
        generate_dataset(tmp_path / "y", "plant", n=2, size=32, frames=12, props=99)


def test_a_data_set_from_before_pushes_and_props_resumes(tmp_path):
    out = tmp_path / "old"
    generate_dataset(out, "plant", n=2, size=32, frames=12, seed=0, workers=1)
    meta = json.loads((out / "dataset.json").read_text())
    del meta["pushes"], meta["props"]  # written before the fields existed: one clip per object, no props
    meta["complete"] = False
    (out / "dataset.json").write_text(json.dumps(meta))
    generate_dataset(out, "plant", n=2, size=32, frames=12, seed=0, workers=1)
    assert read_dataset_meta(out)["complete"]


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "tree"}, "unknown kind"), ({"n": 0}, "--n"), ({"frames": 8}, "flow spans"), ({"size": 8}, "--size"),
])
def test_generate_rejects_bad_arguments(tmp_path, kwargs, match):
    args = {"kind": "plant", "n": 2, "size": 32, "frames": 12} | kwargs
    with pytest.raises(SynthError, match=match):
        generate_dataset(tmp_path / "x", **args)


def test_synth_cli_writes_data_and_contact_sheet(tmp_path, capsys):
    out, sheet = tmp_path / "d", tmp_path / "sheet.png"
    rc = main(["synth", "--kind", "figure", "--n", "2", "--size", "32", "--frames", "12", "--out", str(out),
               "--workers", "1", "--sheet", str(sheet), "--quiet"])
    assert rc == 0
    assert "2 figure clips" in capsys.readouterr().out
    from PIL import Image

    assert Image.open(sheet).size[0] > 32 * 6
    rc = main(["synth", "--kind", "plant", "--n", "2", "--out", str(out), "--quiet"])
    assert rc == 2  # a different data set in the same folder: one clear line, no traceback
    assert "different data set" in capsys.readouterr().err
