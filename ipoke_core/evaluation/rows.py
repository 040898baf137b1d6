"""The scores of one row: a method's videos of the test clips, or the true clips themselves.

Column by column (see ``ipoke_core.evaluate``): LPIPS / PSNR / SSIM per frame against the true
frames, FVD, poke accuracy and motion error by DIS tracking, sharpness, background motion,
structure AUCs of correlation heatmaps, the truth columns and drag / rigidity of its motion.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ipoke_core.analysis.heatmap import correlation_heatmap
from ipoke_core.analysis.structure import ring_structure_score, structure_score
from ipoke_core.analysis.true_dynamics import drag, drag_pokes, rigidity
from ipoke_core.evaluation.clips import EvalClip, EvalError
from ipoke_core.evaluation.plan import PHYSICS_KEYS, TRUTH_KEYS, EvalPlan, EvalSettings, Ticker
from ipoke_core.evaluation.report import mean_of_finite
from ipoke_core.evaluation.truth import TruthCase, truth_scores
from ipoke_core.metrics.motion_error import motion_error
from ipoke_core.metrics.poke_accuracy import poke_accuracy
from ipoke_core.metrics.psnr import psnr
from ipoke_core.metrics.sharpness import sharpness_ratio
from ipoke_core.metrics.ssim import ssim
from ipoke_core.progress import CancelToken, check

if TYPE_CHECKING:
    from ipoke_core.evaluation.methods import Method

GROUND_TRUTH = "ground truth"
# the ground-truth row has no video to compare with itself, no heatmaps and no motion of its own
GROUND_TRUTH_SKIPS = {"lpips", "psnr", "ssim", "fvd", "structure_auc", "structure_ring_auc", "background_motion",
                      *TRUTH_KEYS, *PHYSICS_KEYS}


@dataclass
class Judges:
    """The networks behind LPIPS and FVD (None: that column is unavailable) and the true clips' I3D
    features ``real_feats`` (None: no FVD)."""

    lpips: Any = None
    i3d: Any = None
    real_feats: Any = None


def _sharpness_pct(ratios: Sequence[float]) -> float | None:
    mean = mean_of_finite(ratios)
    return 100 * mean if mean is not None else None


def ground_truth_row(clips: Sequence[EvalClip], ticker: Ticker, cancel: CancelToken | None) -> dict[str, Any]:
    """What tracking / flow estimation alone scores on the true clips: the measurement floor."""
    row: dict[str, Any] = {"method": GROUND_TRUTH, "n_clips": len(clips), "skip": set(GROUND_TRUTH_SKIPS)}
    acc, err, sharp = [], [], []
    for c in clips:
        check(cancel)
        sharp.append(sharpness_ratio(c.source, c.target[-1]))
        acc.append(poke_accuracy(c.source, c.target, c.poke))
        if c.has_gt:
            err.append(motion_error(c.source, c.target[-1], c.motion, c.parts >= 0))
        ticker.tick(GROUND_TRUTH)
    row["poke_accuracy_px"] = mean_of_finite(acc)
    row["motion_error_px"] = mean_of_finite(err)
    row["sharpness_pct"] = _sharpness_pct(sharp)
    return row


def method_row(m: Method, plan: EvalPlan, s: EvalSettings, judges: Judges, cases: list[TruthCase],
               kept: list[dict[str, Any]], ticker: Ticker, cancel: CancelToken | None) -> dict[str, Any]:
    """Every column of ``m``'s row; its maps of the first cases are appended to ``kept``."""
    check(cancel)
    videos = m.videos(plan.sources, plan.pokes)  # (N, T, R, R, 3) uint8
    if videos.shape != plan.targets.shape:
        raise EvalError(f"{m.name} made videos of shape {videos.shape[1:]}, the test clips are {plan.targets.shape[1:]}")
    row: dict[str, Any] = {"method": m.name, "n_clips": len(plan.clips)}
    row.update(_frame_scores(videos, plan.targets, judges, cancel))
    row.update(_tracking_scores(m.name, plan.clips, videos, ticker, cancel))
    if plan.background:
        row["background_motion"] = _background_motion(m, plan)
    row.update(_structure_scores(m, plan.structure_set, s, ticker, cancel))
    if cases:
        row.update(truth_scores(m, cases, s, kept, cancel, lambda: ticker.tick(f"{m.name}: against the simulator")))
    if plan.physics:
        row.update(_physics_scores(m, plan.structure_set, ticker, cancel))
    elif plan.truth:
        ticker.skip(len(plan.structure_set))  # the planned drag/rigidity steps, when only the truth columns run
    return row


def _frame_scores(videos: np.ndarray, targets: np.ndarray, judges: Judges,
                  cancel: CancelToken | None) -> dict[str, float]:
    """PSNR, SSIM and (when available) LPIPS per frame, averaged over time then clips; FVD over the set.
    ``videos``, ``targets``: ``(N, T, R, R, 3)`` uint8."""
    out = {"psnr": float(psnr(videos, targets).mean(1).mean()), "ssim": float(ssim(videos, targets).mean(1).mean())}
    if judges.lpips is not None:
        from ipoke_core.metrics.lpips import lpips_frames

        out["lpips"] = float(lpips_frames(judges.lpips, videos, targets).mean(1).mean())
    if judges.real_feats is not None:
        from ipoke_core.metrics.fvd import fvd_from_features

        out["fvd"] = fvd_from_features(judges.real_feats, judges.i3d.embed(videos, cancel=cancel))
    return out


def _tracking_scores(name: str, clips: Sequence[EvalClip], videos: np.ndarray, ticker: Ticker,
                     cancel: CancelToken | None) -> dict[str, float | None]:
    """Poke accuracy and motion error (DIS tracking of each video), sharpness of the last frames."""
    acc, err = [], []
    for c, v in zip(clips, videos):
        check(cancel)
        acc.append(poke_accuracy(c.source, v, c.poke))
        if c.has_gt:
            err.append(motion_error(c.source, v[-1], c.motion, c.parts >= 0))
        ticker.tick(name)
    sharp = [sharpness_ratio(c.source, v[-1]) for c, v in zip(clips, videos)]
    return {"poke_accuracy_px": mean_of_finite(acc), "motion_error_px": mean_of_finite(err),
            "sharpness_pct": _sharpness_pct(sharp)}


def _background_motion(m: Method, plan: EvalPlan) -> float:
    """Mean |last frame - source| (0..255) under each clip's background poke: 0 is a still image, as it should be."""
    which = [i for i, _ in plan.background]
    still = m.videos(plan.sources[which], [p for _, p in plan.background])
    moved = np.abs(still[:, -1].astype(np.int16) - plan.sources[which].astype(np.int16))
    return float(moved.mean())


def _structure_scores(m: Method, structure_set: list[EvalClip], s: EvalSettings, ticker: Ticker,
                      cancel: CancelToken | None) -> dict[str, float | None]:
    """Structure AUCs of ``m``'s correlation heatmaps at each structure clip's poke location."""
    scores, ring_scores = [], []
    for c in structure_set:
        check(cancel)
        loc = (c.poke.x, c.poke.y)
        res = correlation_heatmap(lambda pk, c=c: m.generate(c.source, [[p] for p in pk]), c.source,
                                  loc, n=s.heatmap_n, magnitude_range=s.magnitude_range,
                                  batch_size=s.batch_size, seed=s.seed + c.index, cancel=cancel)
        scores.append(structure_score(res.heatmap, c.parts, c.parents, loc))
        ring_scores.append(ring_structure_score(res.heatmap, c.parts, c.parents, loc))
        ticker.tick(f"{m.name}: heatmaps")
    return {"structure_auc": mean_of_finite(scores), "structure_ring_auc": mean_of_finite(ring_scores)}


def _physics_scores(m: Method, structure_set: list[EvalClip], ticker: Ticker,
                    cancel: CancelToken | None) -> dict[str, float | None]:
    """Drag (background motion near small pokes) and rigidity (affine residual per true part) of ``m``'s motion."""
    drags, rigid = [], []
    for c in structure_set:
        check(cancel)
        pk = drag_pokes((c.poke.x, c.poke.y), c.source.shape[0])
        drags.append(drag(m.last_motion(c.source, pk), pk, c.parts))
        rigid.append(rigidity(m.last_motion(c.source, [c.poke])[0], c.parts))
        ticker.tick(f"{m.name}: drag, rigidity")
    return {"drag_px": mean_of_finite(drags), "rigidity_px": mean_of_finite(rigid)}
