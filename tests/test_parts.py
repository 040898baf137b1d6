"""The parts view's core: a grid of pokes, pixels that move together, scores against the truth, ``ipoke parts``.

A synthetic motion function stands in for the model: two rigid blocks that each move exactly
with a poke on them, on a background that never moves. No network runs here.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ipoke_core.analysis.parts import (
    PartsError,
    direction_pokes,
    grid_points,
    labels_in_image,
    model_parts,
    parts_from_motions,
)
from ipoke_core.analysis.parts_score import (
    adjusted_rand_index,
    colour_parts,
    recovered_share,
    score_labels,
)
from ipoke_core.analysis.render import part_color, render_parts
from ipoke_core.image import Framing
from ipoke_core.progress import Cancelled, CancelToken

R = 32


def two_blocks(r: int = R) -> np.ndarray:
    """``(r, r) int64``: -1 background, 0 the left block, 1 the right block (touching in the middle)."""
    truth = np.full((r, r), -1, np.int64)
    truth[r // 4:3 * r // 4, r // 8:r // 2] = 0
    truth[r // 4:3 * r // 4, r // 2:7 * r // 8] = 1
    return truth


def rigid_motion(truth: np.ndarray):
    """pokes -> (N, R, R, 2): the poked block moves rigidly with the poke, the rest stays."""
    def motion(pokes):
        out = np.zeros((len(pokes),) + truth.shape + (2,), np.float32)
        for i, p in enumerate(pokes):
            part = truth[int(round(p.y)), int(round(p.x))]
            if part >= 0:
                out[i][truth == part] = (p.dx, p.dy)
        return out
    return motion


def test_two_rigid_halves_come_out_as_two_parts_and_still_background():
    truth = two_blocks()
    source = np.full((R, R, 3), 128, np.uint8)  # one colour: only the motion tells the parts apart
    calls = []
    res = model_parts(lambda pokes: calls.append(len(pokes)) or rigid_motion(truth)(pokes), source, grid=4,
                      directions=4, length=2.0, batch_size=16)
    assert res.n_parts == 2
    assert adjusted_rand_index(truth.ravel(), res.labels.ravel()) == pytest.approx(1.0)
    assert (res.labels[truth < 0] == -1).all()  # the background is still
    assert max(calls) <= 16  # batched
    # background points cost one poke, points on the blocks four
    on = sum(truth[int(round(y)), int(round(x))] >= 0 for x, y in res.points)
    assert len(res.pokes) == 4 * on
    assert res.responses.shape == (2, len(res.pokes), 2)
    # a part's mean response to a poke on it is the poke's direction (it moves 1 px per px of poke), 0 elsewhere
    for i, p in enumerate(res.pokes):
        on = res.part_at(p.x, p.y)
        assert np.allclose(res.responses[on, i], (p.dx / 2.0, p.dy / 2.0), atol=1e-5)
        assert np.allclose(res.responses[1 - on, i], 0.0)
    assert res.part_at(*res.centre(0)) == 0 and res.part_at(*res.centre(1)) == 1


def test_a_model_with_part_masks_shows_its_own_parts_and_still_ones_as_still():
    """The masks are the labels (no clustering): a third mask over the background and one over the
    right block, which this model never moves, come out still."""
    truth = two_blocks()
    only_left = np.where(truth == 0, 0, -1)
    masks = np.stack([truth == 0, truth == 1, truth < 0]).astype(np.float32) * 0.9 + 0.05
    source = np.full((R, R, 3), 128, np.uint8)
    res = model_parts(rigid_motion(only_left), source, grid=4, directions=4, length=2.0, masks=masks)
    assert res.n_parts == 1 and np.isnan(res.silhouette)
    assert (res.labels[truth == 0] == 0).all() and (res.labels[truth != 0] == -1).all()
    res = model_parts(rigid_motion(truth), source, grid=4, directions=4, length=2.0, masks=masks)
    assert res.n_parts == 2
    assert adjusted_rand_index(truth.ravel(), res.labels.ravel()) == pytest.approx(1.0)


def test_nothing_moves_gives_all_still():
    res = model_parts(lambda pokes: np.zeros((len(pokes), R, R, 2), np.float32), np.zeros((R, R, 3), np.uint8),
                      grid=8, length=2.0)
    assert res.n_parts == 0 and (res.labels == -1).all()
    assert len(res.pokes) == 0 and len(res.points) == 16


def test_one_rigid_object_is_one_part():
    truth = np.where(two_blocks() >= 0, 0, -1)
    res = model_parts(rigid_motion(truth), np.zeros((R, R, 3), np.uint8), grid=4, length=2.0)
    assert res.n_parts == 1
    assert ((res.labels == 0) == (truth == 0)).all()


def test_parts_cancel_and_progress():
    token = CancelToken()
    seen = []

    def motion(pokes):
        token.cancel()  # the user presses Cancel while the first batch runs
        return np.zeros((len(pokes), R, R, 2), np.float32)

    with pytest.raises(Cancelled):
        model_parts(motion, np.zeros((R, R, 3), np.uint8), grid=4, batch_size=8, cancel=token,
                    progress=lambda d, t, m: seen.append((d, t)))
    assert seen and seen[0] == (0, 64 * 4)


def test_bad_inputs_are_refused():
    with pytest.raises(PartsError):
        grid_points(32, 0)
    with pytest.raises(PartsError):
        model_parts(rigid_motion(two_blocks()), np.zeros((R, R), np.uint8))
    with pytest.raises(PartsError):
        model_parts(rigid_motion(two_blocks()), np.zeros((R, R, 3), np.uint8), directions=1)


def test_fixed_k_and_labels_by_size():
    truth = two_blocks()
    pokes = direction_pokes((6, 12), 4, 1.0)  # all on the left block
    labels, responses, _ = parts_from_motions(rigid_motion(truth)(pokes), pokes, k=1)
    assert labels.max() == 0 and ((labels == 0) == (truth == 0)).all()
    assert np.allclose(responses[0], [[1, 0], [0, 1], [-1, 0], [0, -1]], atol=1e-5)


def test_ari_perfect_is_one_random_is_about_zero_and_recovered_share():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 5000)
    assert adjusted_rand_index(truth, truth) == pytest.approx(1.0)
    assert adjusted_rand_index(truth, (truth + 1) % 4) == pytest.approx(1.0)  # names do not matter
    assert abs(adjusted_rand_index(truth, rng.integers(0, 4, 5000))) < 0.01
    assert recovered_share(truth, truth) == pytest.approx(1.0)
    assert recovered_share(truth, np.zeros_like(truth)) == pytest.approx(np.mean(truth == np.bincount(truth).argmax()))
    # the classic example (sklearn's doc): [0, 0, 1, 1] vs [0, 0, 1, 2] has ARI 0.571...
    assert adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 2])) == pytest.approx(0.5714285714)


def test_colour_baseline_finds_colour_blocks_and_score_labels_skips_background():
    truth = two_blocks()
    source = np.zeros((R, R, 3), np.uint8)
    source[truth == 0] = (250, 30, 30)
    source[truth == 1] = (30, 30, 250)
    base = colour_parts(source, 3)
    ari, rec = score_labels(base, truth)
    assert ari == pytest.approx(1.0) and rec == pytest.approx(1.0)


def test_labels_map_to_the_users_image_and_render():
    truth = two_blocks()
    res = model_parts(rigid_motion(truth), np.zeros((R, R, 3), np.uint8), grid=4, length=2.0)
    framing = Framing.center_crop(96, 64, R)  # a 64x64 square in the middle of a 96x64 image, 2 px per model px
    img_labels = labels_in_image(res, framing)
    assert img_labels.shape == (64, 96)
    assert (img_labels[:, :16] == -1).all() and (img_labels[:, -16:] == -1).all()  # outside the square
    assert img_labels[32, 16 + 2 * 10] == res.labels[16, 10]
    out = render_parts(np.full((64, 96, 3), 100, np.uint8), img_labels, upscale=2)
    assert out.shape == (128, 192, 3)
    # a part pixel carries its colour, a still one is grey
    y, x = 2 * 32, 2 * (16 + 2 * 10)
    col = np.array(part_color(int(res.labels[16, 10])), np.float32)
    assert np.abs(out[y + 1, x + 1].astype(np.float32) - (100 * 0.45 + col * 0.55)).max() < 2
    assert out[0, 0, 0] == out[0, 0, 1] == out[0, 0, 2]


def test_cli_parts_writes_png_and_npy_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    from ipoke_core import cli
    from ipoke_core.commands import parts as parts_cmd

    truth = two_blocks()

    class StubPoker:  # the real checkpoint loader is tested elsewhere; here the verb's files are
        resolution = R
        predicts_motion = True
        has_part_masks = False

        def magnitude_range(self):
            return (1.0, 3.0)

        def prepare(self, image, framing=None, letterbox=False):
            from ipoke_core.image import load_image

            img = load_image(image)
            framing = framing or Framing.fit(img.shape[1], img.shape[0], R, letterbox)
            return framing.apply(img), framing

        def last_motion(self, source, pokes, batch_size=16):
            return rigid_motion(truth)(pokes)

    monkeypatch.setattr(parts_cmd, "load_poker", lambda args: StubPoker())
    img = tmp_path / "img.png"
    Image.fromarray(np.full((R, R, 3), 90, np.uint8)).save(img)
    out, npy = tmp_path / "parts.png", tmp_path / "labels.npy"
    args = ["parts", "-i", str(img), "-o", str(out), "--npy", str(npy), "--grid", "4"]
    assert cli.main(args) == 0
    labels = np.load(npy)
    assert labels.shape == (R, R) and adjusted_rand_index(truth.ravel(), labels.ravel()) == pytest.approx(1.0)
    assert np.asarray(Image.open(out)).shape == (R, R, 3)
    before = out.read_bytes()
    capsys.readouterr()
    assert cli.main(args) == 2  # both exist: refused, nothing replaced
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == before
    assert cli.main([*args, "--overwrite"]) == 0
    assert cli.main(["parts", "-i", str(img), "-o", str(img), "--overwrite"]) == 2  # never the input
    assert cli.main(["parts", "-i", str(img)]) == 2  # nothing to write
