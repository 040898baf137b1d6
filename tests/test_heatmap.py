"""Correlation heatmaps with a hand-made "model" whose output moves one rectangle rigidly with the poke."""
import numpy as np
import pytest

from ipoke_core.analysis.heatmap import (
    HeatmapError, correlation_heatmap, distance_variance, normalise_variance, random_pokes, response_map,
)
from ipoke_core.analysis.render import render_grid, render_overlay
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, Cancelled

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model

R = 64
RECT = (slice(24, 40), slice(20, 36))  # rows, cols of the moving rectangle


def _textured(rng, size):
    # smooth random texture: DIS needs gradients, and blocky noise gives them at every scale
    import cv2
    small = rng.integers(0, 256, (size // 4, size // 4, 3)).astype(np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(1)
    background = (_textured(rng, R) // 2).astype(np.uint8)
    patch = _textured(rng, 16) // 2 + 128
    return background, patch


def _render(scene, dx, dy):
    background, patch = scene
    img = background.copy()
    y0, x0 = RECT[0].start + int(round(dy)), RECT[1].start + int(round(dx))
    img[y0:y0 + 16, x0:x0 + 16] = patch
    return img


def rigid_rectangle_model(scene, seq_len=3):
    """generate(pokes) -> videos in which the rectangle follows the poke linearly in time."""
    def generate(pokes):
        return np.stack([
            np.stack([_render(scene, p.dx * t / seq_len, p.dy * t / seq_len) for t in range(1, seq_len + 1)])
            for p in pokes
        ])
    return generate


def test_heatmap_high_on_rectangle_low_elsewhere(scene):
    source = _render(scene, 0, 0)
    calls, progress = [], []
    gen = rigid_rectangle_model(scene)

    def counting(pokes):
        calls.append(len(pokes))
        return gen(pokes)

    res = correlation_heatmap(counting, source, (28.0, 32.0), n=24, magnitude_range=(2, 6), batch_size=10,
                              progress=lambda d, t, m: progress.append((d, t)), keep_motions=True)
    assert calls == [10, 10, 4]
    assert progress[-1] == (24, 24)
    assert res.heatmap.shape == (R, R) and res.heatmap.dtype == np.float32
    assert res.variance.shape == (R, R) and res.n == 24 and len(res.pokes) == 24
    inner = res.heatmap[27:37, 23:33]  # rectangle interior, away from edges where flow blurs
    far = np.concatenate([res.heatmap[:12].ravel(), res.heatmap[-12:].ravel()])
    assert np.median(inner) > 0.8
    assert np.median(far) < 0.2
    assert 0.0 <= res.heatmap.min() and res.heatmap.max() <= 1.0
    # the motions it was made from come with it, so a response map can be read from the same videos
    assert res.motions.shape == (24, R, R, 2)
    response = response_map(res.motions, res.pokes)
    assert np.median(response[27:37, 23:33]) > 0.8 and np.median(response[:12]) < 0.2


def test_given_pokes_are_used_as_they_are(scene):
    """``pokes=`` replaces the random draw: the same pokes give the same map, and they must sit at the location."""
    source, gen = _render(scene, 0, 0), rigid_rectangle_model(scene)
    drawn = correlation_heatmap(gen, source, (28.0, 32.0), n=8, magnitude_range=(2, 6), seed=5)
    given = correlation_heatmap(gen, source, (28.0, 32.0), pokes=drawn.pokes)
    assert given.pokes == drawn.pokes and given.n == 8
    np.testing.assert_array_equal(given.heatmap, drawn.heatmap)
    with pytest.raises(HeatmapError, match="at the heatmap location"):
        correlation_heatmap(gen, source, (28.0, 32.0), pokes=[Poke(28.0, 32.0, 3, 0), Poke(20.0, 32.0, 3, 0)])


def test_variance_matches_numpy_on_tiny_case(rng):
    flows = rng.normal(size=(5, 3, 4, 2)).astype(np.float32)
    pokes = [Poke(1, 1, float(dx), float(dy)) for dx, dy in rng.normal(size=(5, 2))]
    d = np.stack([np.sqrt((flows[i, ..., 0] - p.dx) ** 2 + (flows[i, ..., 1] - p.dy) ** 2) for i, p in enumerate(pokes)])
    np.testing.assert_allclose(distance_variance(flows, pokes), np.var(d, axis=0), rtol=1e-6)


def test_normalisation_values():
    ref = 3.0
    # still pixel: variance == reference -> 0; rigid: 0 -> 1; half the poke: (1/2)^2 ref -> 0.5
    np.testing.assert_allclose(normalise_variance(np.array([ref, 0.0, ref / 4, 10 * ref]), ref), [0, 1, 0.5, 0], atol=1e-6)


def test_response_map_reads_how_far_each_pixel_moves_per_pixel_of_poke(rng):
    pokes = random_pokes((5, 5), 16, (1.0, 6.0), seed=3)
    p = np.array([[q.dx, q.dy] for q in pokes])
    turn = np.array([[0.0, -1.0], [1.0, 0.0]])  # a quarter turn: moves across the poke, not along it
    motions = np.zeros((16, 2, 3, 2))
    motions[:, 0, 0] = p  # carried with the poke
    motions[:, 0, 1] = 0.5 * p  # half way, as nearer a joint
    motions[:, 0, 2] = 2.0 * p @ turn.T  # beyond the poked point of a turning part: farther, and sideways
    motions[:, 1, 0] = rng.normal(0, 1, (16, 2))  # jitter that has nothing to do with the poke
    heat = response_map(motions, pokes)  # motions[:, 1, 1:] stay still
    assert heat.shape == (2, 3) and heat.dtype == np.float32
    assert heat[0, 0] == pytest.approx(1.0) and heat[0, 1] == pytest.approx(0.5) and heat[0, 2] == 1.0
    assert heat[1, 1] == heat[1, 2] == 0.0 and heat[1, 0] < 0.3
    # the paper's variance map loses the turning pixel: its distance to the poke varies with the poke's length
    paper = normalise_variance(distance_variance(motions, pokes), float(np.var([q.magnitude for q in pokes])))
    assert paper[0, 0] == pytest.approx(1.0) and paper[0, 2] < 0.5


def test_response_map_needs_pokes_in_two_directions():
    pokes = [Poke(5, 5, d, 0.0) for d in (1.0, 2.0, -3.0)]
    with pytest.raises(HeatmapError, match="two directions"):
        response_map(np.zeros((3, 4, 4, 2)), pokes)


def test_pokes_are_random_but_seeded():
    a = random_pokes((5, 5), 200, (2, 8), seed=3)
    assert a == random_pokes((5, 5), 200, (2, 8), seed=3)
    mags = np.array([p.magnitude for p in a])
    assert mags.min() >= 2 and mags.max() <= 8
    angles = np.arctan2([p.dy for p in a], [p.dx for p in a])
    assert (angles > 0).mean() == pytest.approx(0.5, abs=0.12)


@pytest.mark.parametrize("kw, msg", [
    (dict(location=(64.0, 3.0)), "outside"),
    (dict(location=(-1.0, 3.0)), "outside"),
    (dict(n=1), "at least 2"),
    (dict(magnitude_range=(4.0, 4.0)), "lo < hi"),
])
def test_bad_input(scene, kw, msg):
    args = dict(location=(10.0, 10.0), n=4, magnitude_range=(2.0, 6.0)) | kw
    with pytest.raises(HeatmapError, match=msg):
        correlation_heatmap(rigid_rectangle_model(scene), _render(scene, 0, 0), **args)


def test_cancel_between_batches(scene):
    token = CancelToken()
    gen = rigid_rectangle_model(scene)

    def cancelling(pokes):
        token.cancel()
        return gen(pokes)

    with pytest.raises(Cancelled):
        correlation_heatmap(cancelling, _render(scene, 0, 0), (28, 32), n=8, batch_size=4, cancel=token)


def test_render_overlay_and_grid(scene):
    source = _render(scene, 0, 0)
    res = correlation_heatmap(rigid_rectangle_model(scene), source, (28.0, 32.0), n=6, batch_size=6)
    over = render_overlay(source, res, upscale=2)
    assert over.shape == (128, 128, 3) and over.dtype == np.uint8
    assert not np.array_equal(over, np.repeat(np.repeat(source, 2, 0), 2, 1))
    grid = render_grid(source, [res, res], upscale=2)
    assert grid.shape[0] > 128 and grid.shape[1] > 3 * 128


def test_last_frames_equal_the_full_forward_last_frame(rng):
    import torch

    from ipoke_core.analysis.heatmap import heatmap_for_image, last_frames
    from ipoke_core.config import ModelConfig
    from ipoke_core.inference import Poker
    from ipoke_core.model import IPoke

    torch.manual_seed(0)
    poker = Poker(IPoke(ModelConfig(resolution=32, channels=[8, 16], bottleneck=16, depth=2, seq_len=4)), {}, "cpu")
    source = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    pokes = random_pokes((12.0, 20.0), 5, (2, 6), seed=1)
    full = poker.generate(source, [[p] for p in pokes], batch_size=2)
    fast = last_frames(poker, source, pokes, batch_size=2)
    assert fast.shape == (5, 1, 32, 32, 3)
    assert np.abs(fast[:, 0].astype(int) - full[:, -1].astype(int)).max() <= 1  # rounding of float noise
    # the convenience path maps image pixels to model pixels and keeps the framing
    image = rng.integers(0, 256, (48, 96, 3)).astype(np.uint8)
    # pixel centres at integer coordinates: the centre of a 96x48 image is (47.5, 23.5)
    res = heatmap_for_image(poker, image, (47.5, 23.5), n=4, batch_size=4, magnitude_range=(2, 6))
    assert res.location == pytest.approx((15.5, 15.5), abs=0.01) and res.framing is not None
    assert res.source.shape == (32, 32, 3)
    with pytest.raises(HeatmapError, match="outside"):
        heatmap_for_image(poker, image, (5.0, 24.0), n=4)  # in the image but outside the centre crop


def test_a_poked_point_that_does_not_move_is_reported_as_still():
    """Issue 34 item 4: a map of a point the pokes do not move is no map; the result says so."""
    from ipoke_core.analysis.heatmap import STILL_POINT, HeatmapResult

    heat = np.zeros((16, 16), np.float32)
    heat[8:12, 8:12] = 0.9  # something near moves, the poked point (3, 3) does not
    still = HeatmapResult(heatmap=heat, variance=np.zeros_like(heat), location=(3.2, 2.8), pokes=[], n=8, elapsed_s=0.0)
    assert still.point_follows == 0.0 and not still.point_moves
    moving = HeatmapResult(heatmap=heat, variance=np.zeros_like(heat), location=(9.4, 10.0), pokes=[], n=8, elapsed_s=0.0)
    assert moving.point_follows == pytest.approx(0.9) and moving.point_moves
    edge = HeatmapResult(heatmap=heat + STILL_POINT, variance=heat, location=(15.9, -0.2), pokes=[], n=8, elapsed_s=0.0)
    assert edge.point_moves  # a location on the border reads the border pixel
