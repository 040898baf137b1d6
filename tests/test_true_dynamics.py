"""analysis.true_dynamics: the simulator rebuilt from (kind, seed, index) and poked again; drag and rigidity."""

import numpy as np
import pytest

from ipoke_core.data import load_ground_truth
from ipoke_core.data.synthetic.clip import make_clip, posed_object
from ipoke_core.data.synthetic.generate import generate_dataset
from ipoke_core.analysis import true_dynamics as td


@pytest.mark.parametrize("kind", ["plant", "figure"])
def test_a_clip_rebuilds_to_its_own_first_pose(kind):
    clip = make_clip(kind, 3, 2, 64, 12)
    obj = posed_object(kind, 3, 2, 64)
    assert np.array_equal(obj.labels.astype(np.int32) - 1, clip.parts)
    assert (obj.poke.part, obj.point) == (clip.poke["part"], (clip.poke["x"], clip.poke["y"]))


@pytest.mark.parametrize("pushes", [1, 2])
def test_the_clips_own_push_gives_back_the_clips_own_motion(tmp_path, pushes):
    """Pushed as the clip was (its force, along its direction), the rebuilt object moves exactly as the
    stored clip (also a second push of an object, with ``pushes`` clips per object); and the heatmap
    of random pushes is 1 at the pushed point, which follows every poke."""
    root = tmp_path / "plants"
    generate_dataset(root, "plant", n=4, size=64, frames=12, seed=5, workers=1, pushes=pushes)
    for index in range(3):
        cid = f"{index:06d}"
        with np.load(root / "clips" / cid / "gt.npz") as z:
            duration, force, parts = float(z["poke_duration"]), z["poke"][2:4].astype(float), z["parts"]
        gt = load_ground_truth(root, cid)
        x, y = (float(v) for v in gt["poke"][:2])
        rng = _Along(np.arctan2(force[1], force[0]))
        scale = float(np.hypot(*force))
        pokes, motions = td.true_responses("plant", 5, index, parts, (x, y), 10, 15.0, duration, scale, 1, rng,
                                             pushes=pushes)
        mask = parts >= 0
        assert np.abs(motions[0][mask] - gt["motion"][10][mask]).max() < 0.01
        assert np.allclose([pokes[0].dx, pokes[0].dy], gt["motion"][10, int(y), int(x)], atol=0.01)
        pokes, motions = td.true_responses("plant", 5, index, parts, (x, y), 10, 15.0, duration, scale, 8,
                                             pushes=pushes)
        heat = td.true_heatmap(pokes, motions)
        assert heat[int(y), int(x)] > 0.95 and heat[~mask].max() < 1e-6
        # asked for the lengths a model's heatmap uses, the pushes make pokes of those lengths
        pokes, _ = td.true_responses("plant", 5, index, parts, (x, y), 10, 15.0, duration, scale, 8,
                                       np.random.default_rng(1), (1.0, 4.0), pushes)
        assert all(0.9 <= p.magnitude <= 4.4 for p in pokes)


def test_unseen_physics_drawn_anew_moves_the_same_object_otherwise_and_the_clip_keeps_its_own():
    """``unseen``: the same object (its part map, the pushed point) with other springs and another push
    duration; the clip's own physics is untouched by it (pushed again without, the same motion)."""
    parts = make_clip("plant", 5, 0, 64, 12).parts
    obj = posed_object("plant", 5, 0, 64)
    loc, duration = obj.point, obj.poke.duration
    ask = dict(kind="plant", seed=5, index=0, parts=parts, location=loc, span=10, fps=15.0, duration=duration,
               force_scale=float(np.hypot(*obj.poke.force)), n=4)
    own = td.true_responses(**ask, rng=np.random.default_rng(0))[1]
    other = td.true_responses(**ask, rng=np.random.default_rng(0), unseen=np.random.default_rng(1))[1]
    again = td.true_responses(**ask, rng=np.random.default_rng(0))[1]
    assert np.array_equal(own, again)
    on = parts >= 0
    assert np.abs(other - own)[:, on].max() > 0.05  # other springs move it otherwise ...
    assert np.all(other[:, ~on] == 0)  # ... the same object: nothing off its part map moves


class _Along:
    """A stand-in generator: every push along one angle, at exactly the clip's force."""

    def __init__(self, angle: float):
        self.angle = angle

    def uniform(self, lo, hi):
        return self.angle if hi > 6 else 1.0


def test_a_part_map_from_elsewhere_is_refused():
    parts = make_clip("plant", 3, 2, 64, 12).parts
    with pytest.raises(ValueError, match="does not rebuild"):
        td.true_responses("plant", 4, 2, parts, (30.0, 30.0), 10, 15.0, 1.0, 1.0)



def _two_parts(r=32):
    parts = np.full((r, r), -1, np.int64)
    parts[4:14, 4:20] = 0
    parts[18:28, 8:16] = 1
    return parts


def test_rigidity_is_zero_for_affine_parts_and_positive_for_a_shear_inside_a_part():
    parts = _two_parts()
    ys, xs = np.mgrid[0:32, 0:32].astype(np.float32)
    motion = np.zeros((32, 32, 2), np.float32)
    a = 0.2  # part 0 turns about (10, 10), part 1 translates: every part moves rigidly
    motion[..., 0] = np.where(parts == 0, (np.cos(a) - 1) * (xs - 10) - np.sin(a) * (ys - 10), 1.5)
    motion[..., 1] = np.where(parts == 0, np.sin(a) * (xs - 10) + (np.cos(a) - 1) * (ys - 10), -0.5)
    motion[parts < 0] = 7.0  # the background does not count
    assert td.rigidity(motion, parts) < 1e-5
    bent = motion.copy()
    bent[..., 0] += np.where(parts == 1, 0.1 * (ys - 23) ** 2, 0)  # part 1 bends: no affine map explains it
    assert td.rigidity(bent, parts) > 0.3
    assert td.rigidity(np.zeros_like(motion), parts) == 0.0  # standing still is rigid
    assert np.isnan(td.rigidity(motion, parts, min_pixels=1000))  # no part large enough: undefined, not 0


def test_drag_measures_the_background_beside_the_poke_per_2_px():
    from ipoke_core.analysis.baselines import flow_warp_motion

    parts = _two_parts()
    pokes = td.drag_pokes((12.0, 8.0), 32)
    assert len(pokes) == 8 and all(p.magnitude == pytest.approx(1.0) for p in pokes)  # 2 px at 64 px = 1 px at 32
    object_only = np.zeros((8, 32, 32, 2), np.float32)
    object_only[:, parts >= 0] = 1.0
    assert td.drag(object_only, pokes, parts) == 0.0  # the object moves, the background stays: no drag
    blob = flow_warp_motion(np.zeros((32, 32, 3), np.uint8), pokes)
    assert 0.1 < td.drag(blob, pokes, parts) < 2.0
    # the background moving with the poke everywhere: as far as the poke, per 2 px poke 2 px
    carried = np.stack([np.broadcast_to([p.dx, p.dy], (32, 32, 2)) for p in pokes]).astype(np.float32)
    assert td.drag(carried, pokes, parts) == pytest.approx(2.0)


def test_only_a_synthetic_set_at_the_models_size_has_a_simulator(tmp_path):
    import json

    generate_dataset(tmp_path / "d", "plant", n=10, size=32, frames=12, seed=1, workers=1)
    assert td.Simulator.from_dataset(tmp_path / "d", 32, 10).meta["kind"] == "plant"
    with pytest.raises(td.TruthUnavailable, match="stored at 32 px"):
        td.Simulator.from_dataset(tmp_path / "d", 64, 10)
    meta = json.loads((tmp_path / "d" / "dataset.json").read_text())
    meta.update(kind="video", has_ground_truth=False)
    (tmp_path / "d" / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(td.TruthUnavailable, match="real videos"):
        td.Simulator.from_dataset(tmp_path / "d", 32, 10)
