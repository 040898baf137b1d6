"""Physics of the synthetic articulated objects: damping, lever arms, determinism, ground truth vs DIS."""
import numpy as np
import pytest

from ipoke_core.data.synthetic.body import LEAF, STEM
from ipoke_core.data.synthetic.clip import dense_motion, make_clip
from ipoke_core.data.synthetic.physics import PokeForce, energy, simulate, static_gain
from ipoke_core.data.synthetic.plant import make_plant
from ipoke_core.flow import dis_flow


def _plant_with_branch_leaf(seed: int = 3):
    """A plant and one of its leaves that hangs from a side branch (not from the trunk)."""
    for s in range(seed, seed + 50):
        body, _ = make_plant(np.random.default_rng(s), 128)
        trunk_levels = body.level  # 0 = trunk
        for i in range(body.n_parts):
            p = body.parent[i]
            if body.kind[i] == LEAF and p > 0 and body.kind[p] == STEM and trunk_levels[p] >= 1:
                return body, i
    raise AssertionError("no plant with a leaf on a branch")


def _end_points(body, q):
    starts, angles = body.kinematics(q)
    return starts + np.stack([np.cos(angles), np.sin(angles)], -1) * body.length[:, None]


def test_damping_makes_the_energy_of_a_released_plant_decay():
    body, leaf = _plant_with_branch_leaf()
    poke = PokeForce(leaf, body.length[leaf] * 0.7, 0.0, (0.0, 40.0 * body.inertia[leaf] ** 0.5), duration=0.2)
    fps = 15.0
    q, w = simulate(body, poke, n_frames=60, fps=fps)
    e = energy(body, q, w)
    release = int(np.ceil(0.2 * fps)) + 1
    assert e[release] > 0
    assert e[-1] < 0.05 * e[release]  # 3.7 s later almost all energy is gone
    # it decays steadily: each second holds less energy than the one before
    per_second = [e[release + k * 15:release + (k + 1) * 15].max() for k in range(3)]
    assert per_second[0] > per_second[1] > per_second[2]
    # ... and the loss is the damping's doing: without damping the integrator keeps the energy
    body.damping = body.damping * 0.0
    q0, w0 = simulate(body, poke, n_frames=60, fps=fps)
    e0 = energy(body, q0, w0)
    assert e0[-1] == pytest.approx(e0[release], rel=0.15)


def test_a_poke_on_a_leaf_moves_its_branch_more_than_the_root_segment():
    body, leaf = _plant_with_branch_leaf()
    branch = body.parent[leaf]
    starts, angles = body.kinematics()
    axis = np.array([np.cos(angles[leaf]), np.sin(angles[leaf])])
    normal = np.array([-axis[1], axis[0]])
    gain, _ = static_gain(body, leaf, body.length[leaf] * 0.8, 0.0, normal)
    force = normal * 10.0 / gain  # a push that would hold the poked point 10 px aside
    poke = PokeForce(leaf, body.length[leaf] * 0.8, 0.0, tuple(force), duration=0.4)
    q, _ = simulate(body, poke, n_frames=15, fps=15.0)
    ends = _end_points(body, q)
    moved = np.hypot(*(ends - ends[0]).transpose(2, 0, 1)).max(0)  # (P,) max excursion of every part's tip
    assert moved[branch] > 1.0  # the branch visibly moves (pixels at 128 x 128)
    assert moved[branch] > 3 * moved[0]  # ... far more than the trunk's base segment


def test_a_poke_on_the_trunk_moves_the_whole_plant():
    body, _ = _plant_with_branch_leaf()
    top = int(np.nonzero(body.level == 0)[0].max())  # the uppermost trunk segment
    direction = np.array([1.0, 0.0])
    gain, _ = static_gain(body, top, body.length[top], 0.0, direction)
    force = direction * 8.0 / gain  # a push that would hold the trunk's top 8 px aside
    q, _ = simulate(body, PokeForce(top, body.length[top], 0.0, tuple(force), 0.5), n_frames=12, fps=15.0)
    ends = _end_points(body, q)
    moved = np.hypot(*(ends - ends[0]).transpose(2, 0, 1)).max(0)
    above = body.ancestors[:, top] > 0  # everything carried by the poked trunk segment
    assert (moved[above] > 0.5).mean() > 0.9


def test_clips_are_a_pure_function_of_kind_seed_and_index():
    a = make_clip("plant", seed=5, index=7, size=64, n_frames=8)
    b = make_clip("plant", seed=5, index=7, size=64, n_frames=8)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.parts, b.parts)
    assert a.poke == b.poke
    c = make_clip("plant", seed=6, index=7, size=64, n_frames=8)
    assert not np.array_equal(a.frames, c.frames)
    f1 = make_clip("figure", seed=5, index=7, size=64, n_frames=8)
    assert f1.frames.shape == (8, 64, 64, 3) and len(f1.parents) == 11


def test_clip_starts_at_rest_and_the_poked_point_moves():
    for kind in ("plant", "figure"):
        clip = make_clip(kind, seed=0, index=1, size=64, n_frames=12)
        motion = dense_motion(clip.parts, clip.starts.astype(np.float64), clip.angles.astype(np.float64))
        assert np.abs(motion[0]).max() < 1e-4  # frame 0 is the rest pose
        x, y = int(clip.poke["x"]), int(clip.poke["y"])
        assert clip.parts[y, x] == clip.poke["part"]  # the poke is on the visible poked part
        assert np.hypot(*motion[1:11, y, x].T).max() > 1.0  # it moves by more than a pixel at 64 x 64
        assert not np.array_equal(clip.frames[0], clip.frames[5])


def test_ground_truth_motion_agrees_with_dis_flow_on_rendered_frames():
    medians = []
    for kind in ("plant", "figure"):
        for index in range(3):
            clip = make_clip(kind, seed=0, index=index, size=128, n_frames=4)
            motion = dense_motion(clip.parts, clip.starts.astype(np.float64), clip.angles.astype(np.float64))
            flow = dis_flow(clip.frames[0], clip.frames[3])
            mask = clip.parts >= 0
            epe = np.hypot(*(flow - motion[3]).transpose(2, 0, 1))[mask]
            medians.append(float(np.median(epe)))
    assert np.median(medians) < 0.6, medians
    assert max(medians) < 2.0, medians
