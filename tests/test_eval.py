"""The evaluation loop on hand-made clips, with a hand-made "perfect" model and the baselines."""
import math

import cv2
import numpy as np
import pytest

from ipoke_core.evaluate import EvalClip, EvalError, EvalSettings, Method, evaluate, flow_warp_method, static_method
from ipoke_core.poke import Poke

R, T = 48, 4


def _texture(rng, h, w, offset=0):
    small = rng.integers(0, 256, (max(2, h // 4), max(2, w // 4), 3)).astype(np.uint8)
    return (cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) // 2 + offset).astype(np.uint8)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(5)
    return {"bg": _texture(rng, R, R), "base": _texture(rng, 8, 30, 100), "arm": _texture(rng, 12, 12, 128)}


def _render(scene, dx, dy):
    img = scene["bg"].copy()
    img[36:44, 9:39] = scene["base"]  # part 0: a still base
    y0, x0 = 16 + int(round(dy)), 18 + int(round(dx))
    img[y0:y0 + 12, x0:x0 + 12] = scene["arm"]  # part 1: a block hanging off the base, moves with the poke
    return img


def _clip(scene, i, dx, dy):
    parts = np.full((R, R), -1, np.int64)
    parts[36:44, 9:39] = 0
    parts[16:28, 18:30] = 1
    motion = np.zeros((R, R, 2), np.float32)
    motion[parts == 1] = (dx, dy)
    target = np.stack([_render(scene, dx * t / T, dy * t / T) for t in range(1, T + 1)])
    return EvalClip(i, _render(scene, 0, 0), target, Poke(24.0, 22.0, dx, dy), motion, parts, np.array([-1, 0]))


def perfect_method(scene):
    """Moves the block exactly as the poke asks: the true dynamics of these clips."""
    def generate(source, pokes_per_video):
        return np.stack([np.stack([_render(scene, p[0].dx * t / T, p[0].dy * t / T) for t in range(1, T + 1)])
                         for p in pokes_per_video])
    return Method("perfect", generate)


def test_evaluate_ranks_perfect_model_above_baselines(scene):
    clips = [_clip(scene, i, dx, dy) for i, (dx, dy) in enumerate([(4, 0), (0, -4), (-3, 3), (4, 4)])]
    methods = [perfect_method(scene), static_method(T), flow_warp_method(T)]
    seen = []
    report = evaluate(methods, clips, EvalSettings(heatmap_n=8, structure_clips=2, magnitude_range=(2, 5)),
                      progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1]
    perfect = {k: report.value("perfect", k) for k in ("psnr", "ssim", "poke_accuracy_px", "motion_error_px", "structure_auc",
                                                       "structure_ring_auc")}
    static = {k: report.value("static (source repeated)", k) for k in perfect}
    assert perfect["psnr"] == 100.0 and perfect["ssim"] == pytest.approx(1.0)
    assert static["psnr"] < 40 and static["ssim"] < perfect["ssim"]
    # the static video leaves the block where it was: off by the full displacement
    true_len = np.mean([math.hypot(c.poke.dx, c.poke.dy) for c in clips])
    assert static["poke_accuracy_px"] == pytest.approx(true_len, abs=0.5)
    assert perfect["poke_accuracy_px"] < 1.5 and perfect["poke_accuracy_px"] == report.value("ground truth", "poke_accuracy_px")
    assert perfect["motion_error_px"] < 1.0 < static["motion_error_px"]
    assert perfect["structure_auc"] > 0.9
    # without a simulator the truth maps are missing, but drag and rigidity need only the part map: the
    # perfect model (read through DIS) moves the block rigidly, the still video drags nothing, the blob does
    assert report.value("perfect", "truth_corr") is None and "no simulator for this test set" in report.to_markdown()
    assert report.value("perfect", "rigidity_px") < 0.3 and report.value("static (source repeated)", "drag_px") == 0
    assert report.value("flow warping (Hao-style)", "drag_px") > 0.3
    assert static["structure_auc"] == pytest.approx(0.5)  # nothing moves: an uninformative map
    # the base lies farther from the poke than any pixel of the block: no equal-distance pairs, so the
    # same-distance score is undefined and shown as n/a, not as a number
    assert perfect["structure_ring_auc"] is None and static["structure_ring_auc"] is None
    # without weights, LPIPS and FVD are unavailable with the reason, not zero
    assert report.value("perfect", "lpips") is None and report.value("perfect", "fvd") is None
    md = report.to_markdown()
    assert "n/a" in md and "no LPIPS weights given" in md and "no I3D weights given" in md
    csv_lines = report.to_csv().splitlines()
    assert csv_lines[0].startswith("method,lpips,psnr") and csv_lines[1].startswith("perfect,,100,")


def test_without_ground_truth_gt_columns_are_skipped_with_a_note(scene):
    clips = [_clip(scene, i, 4, 0) for i in range(2)]
    for c in clips:
        c.motion = c.parts = c.parents = None
    report = evaluate([static_method(T)], clips, EvalSettings(heatmap_n=4, structure_clips=2))
    assert report.value("static (source repeated)", "motion_error_px") is None
    assert report.value("static (source repeated)", "structure_auc") is None
    assert report.value("static (source repeated)", "poke_accuracy_px") is not None
    assert "no ground-truth motion" in report.to_markdown()
    for key in ("truth_corr", "truth_diff", "response_ring_auc", "drag_px", "rigidity_px"):
        assert report.value("static (source repeated)", key) is None
    assert "drag_px: unavailable: the test set has no part maps (real videos)" in report.to_markdown()


def test_empty_test_set_is_refused():
    with pytest.raises(EvalError, match="no clips"):
        evaluate([static_method(T)], [])
