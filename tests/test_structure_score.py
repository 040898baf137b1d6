"""Structure score: ROC-AUC of a heatmap for the poked part's kinematic subtree."""
import numpy as np
import pytest

from ipoke_core.analysis.structure import ring_structure_score, roc_auc, structure_score, subtree


def test_roc_auc_against_pairwise_definition(rng):
    s = rng.integers(0, 5, 60).astype(float)  # many ties
    y = rng.random(60) < 0.4
    pos, neg = s[y], s[~y]
    pairwise = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (pos.size * neg.size)
    assert roc_auc(s, y) == pytest.approx(pairwise, abs=1e-12)
    assert np.isnan(roc_auc(s, np.zeros(60, bool)))


def _toy_object():
    # parts: 0 trunk (root), 1 branch on the trunk, 2 leaf on the branch, 3 another leaf on the trunk
    parts = np.full((32, 32), -1, np.int16)
    parts[4:28, 14:18] = 0
    parts[8:12, 18:26] = 1
    parts[6:10, 26:30] = 2
    parts[20:24, 6:14] = 3
    return parts, np.array([-1, 0, 1, 0])


def test_subtree():
    _, parents = _toy_object()
    assert set(subtree(parents, 1)) == {1, 2}
    assert set(subtree(parents, 0)) == {0, 1, 2, 3}


def test_perfect_heatmap_scores_one_random_about_half(rng):
    parts, parents = _toy_object()
    perfect = np.isin(parts, [1, 2]).astype(np.float32)  # poke on the branch: branch + its leaf hot
    assert structure_score(perfect, parts, parents, (20, 10)) == 1.0
    assert structure_score(1 - perfect, parts, parents, (20, 10)) == 0.0
    scores = [structure_score(rng.random((32, 32)), parts, parents, (20, 10)) for _ in range(20)]
    assert abs(np.mean(scores) - 0.5) < 0.05


def test_undefined_cases_are_nan():
    parts, parents = _toy_object()
    h = np.ones((32, 32))
    assert np.isnan(structure_score(h, parts, parents, (2, 2)))  # background poke
    assert np.isnan(structure_score(h, parts, parents, (15, 15)))  # root: no negatives


def test_a_blob_around_the_poke_scores_high_but_half_at_equal_distance():
    parts, parents = _toy_object()
    location = (20, 10)  # on the branch, whose subtree (branch + leaf) is the object's part nearest the poke
    yy, xx = np.mgrid[:32, :32]
    blob = np.exp(-((xx - location[0]) ** 2 + (yy - location[1]) ** 2) / (2 * 6.0 ** 2))
    assert structure_score(blob, parts, parents, location) > 0.8
    assert ring_structure_score(blob, parts, parents, location) == pytest.approx(0.5, abs=0.1)
    perfect = np.isin(parts, [1, 2]).astype(np.float32)
    assert ring_structure_score(perfect, parts, parents, location) == 1.0
    assert ring_structure_score(1 - perfect, parts, parents, location) == 0.0


def test_ring_score_is_the_auc_over_same_ring_pairs(rng):
    parts, parents = _toy_object()
    location, width = (21.3, 9.6), 0.7
    heat = rng.integers(0, 4, (32, 32)).astype(float)  # ties count a half
    ys, xs = np.nonzero(parts >= 0)
    ring = np.floor(np.hypot(xs - location[0], ys - location[1]) / width)
    pos = np.isin(parts[ys, xs], [1, 2])
    v = heat[ys, xs]
    same = (ring[:, None] == ring[None]) & pos[:, None] & ~pos[None]
    wins = (v[:, None] > v[None]) + 0.5 * (v[:, None] == v[None])
    assert ring_structure_score(heat, parts, parents, location, width) == pytest.approx(wins[same].mean(), abs=1e-12)


def test_ring_score_undefined_cases_are_nan():
    parts, parents = _toy_object()
    heat = np.zeros((32, 32))
    assert np.isnan(ring_structure_score(heat, parts, parents, (1, 1)))  # background
    assert np.isnan(ring_structure_score(heat, parts, parents, (16, 16)))  # the root: no negatives
    with pytest.raises(ValueError, match="ring_px"):
        ring_structure_score(heat, parts, parents, (20, 10), 0.0)
