"""Scoring parts against the true part map of synthetic clips, beside a colour-only baseline.

Two scores over the object's pixels (true part >= 0; the background is left out, and a
predicted "still" label counts as one more predicted part):

- the adjusted Rand index (ARI): agreement of the two partitions over all pixel pairs,
  corrected for chance (1 = the same partition, about 0 = no better than random labels);
- the recovered share: true parts and predicted labels are matched one to one (greedily, the
  largest overlap first); the share of object pixels whose predicted label is their part's match.

The baseline segments by colour alone: k-means on Lab colour plus a little position, with as
many clusters as the model's labels (parts, and "still" if any), over the whole image.
"""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ipoke_core.analysis.parts import kmeans, model_parts

if TYPE_CHECKING:
    from ipoke_core.evaluate import EvalClip
    from ipoke_core.inference import Poker
    from ipoke_core.progress import CancelToken, ProgressFn

COLOUR_POSITION_WEIGHT = 0.5  # position (in units of the image side) against Lab colour scaled to [0, 1]


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(|A|, |B|) int64`` counts of each label pair of ``a`` and ``b`` (same shape, any ints)."""
    _, ai = np.unique(np.asarray(a).ravel(), return_inverse=True)
    _, bi = np.unique(np.asarray(b).ravel(), return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), np.int64)
    np.add.at(table, (ai, bi), 1)
    return table


def adjusted_rand_index(truth: np.ndarray, pred: np.ndarray) -> float:
    """Hubert-Arabie adjusted Rand index of two labellings of the same pixels (NaN if empty)."""
    table = _contingency(truth, pred)
    n = int(table.sum())
    if n == 0:
        return float("nan")
    pairs = lambda v: (v * (v - 1) // 2).sum()
    index, rows, cols = float(pairs(table)), float(pairs(table.sum(1))), float(pairs(table.sum(0)))
    expected = rows * cols / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (rows + cols) / 2
    if top == expected:  # both labellings are a single cluster (or each pixel its own): identical
        return 1.0
    return (index - expected) / (top - expected)


def recovered_share(truth: np.ndarray, pred: np.ndarray) -> float:
    """Share of pixels whose predicted label is their true part's match (one-to-one, greedy by overlap)."""
    table = _contingency(truth, pred).astype(np.float64)
    n = table.sum()
    if n == 0:
        return float("nan")
    matched = 0.0
    while table.size and table.max() > 0:
        i, j = np.unravel_index(int(np.argmax(table)), table.shape)
        matched += table[i, j]
        table[i, :] = 0
        table[:, j] = 0
    return float(matched / n)


def colour_parts(source: np.ndarray, k: int, position_weight: float = COLOUR_POSITION_WEIGHT,
                 seed: int = 0) -> np.ndarray:
    """The colour-only baseline: ``(R, R) int64`` k-means labels of Lab colour + ``position_weight`` x position."""
    r = source.shape[0]
    lab = cv2.cvtColor(source, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32) / 255.0
    ys, xs = np.mgrid[0:r, 0:r]
    pos = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32) / r * position_weight
    return kmeans(np.concatenate([lab, pos], 1), max(1, k), seed).reshape(r, r)


def score_labels(labels: np.ndarray, parts: np.ndarray) -> tuple[float, float]:
    """``(ARI, recovered share)`` of ``labels (R, R)`` against the true ``parts (R, R)`` (-1 background)."""
    obj = parts >= 0
    return adjusted_rand_index(parts[obj], labels[obj]), recovered_share(parts[obj], labels[obj])


@dataclass
class PartsScore:
    """Per-clip scores of the model's parts and the colour baseline on one data set."""

    model_ari: list[float] = field(default_factory=list)
    model_recovered: list[float] = field(default_factory=list)
    colour_ari: list[float] = field(default_factory=list)
    colour_recovered: list[float] = field(default_factory=list)
    n_parts: list[int] = field(default_factory=list)  # model's labels per clip (parts + still)
    true_parts: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # parts computation per image
    pokes: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        mean = lambda v: float(np.nanmean(v)) if v else float("nan")
        return {
            "clips": len(self.model_ari), "model_ari": mean(self.model_ari), "model_recovered": mean(self.model_recovered),
            "colour_ari": mean(self.colour_ari), "colour_recovered": mean(self.colour_recovered),
            "labels": mean(self.n_parts), "true_parts": mean(self.true_parts),
            "median_s": statistics.median(self.seconds) if self.seconds else float("nan"),
            "pokes": mean(self.pokes),
        }

    def table(self) -> str:
        s = self.summary()
        sem = lambda v: float(np.nanstd(v) / math.sqrt(max(len(v), 1)))
        return "\n".join([
            f"{s['clips']} clips; true parts per clip {s['true_parts']:.1f}; model labels per clip {s['labels']:.1f} "
            f"(parts + still); {s['pokes']:.0f} pokes and {s['median_s']:.1f} s per image (median)",
            f"{'method':<22} {'ARI':>14} {'recovered':>16}",
            f"{'model parts':<22} {s['model_ari']:>7.3f} ± {sem(self.model_ari):.3f} "
            f"{s['model_recovered']:>9.3f} ± {sem(self.model_recovered):.3f}",
            f"{'colour k-means (same k)':<22} {s['colour_ari']:>7.3f} ± {sem(self.colour_ari):.3f} "
            f"{s['colour_recovered']:>9.3f} ± {sem(self.colour_recovered):.3f}",
        ])


def score_parts(poker: Poker, clips: Sequence[EvalClip], progress: ProgressFn | None = None,
                cancel: CancelToken | None = None, **kwargs: Any) -> PartsScore:
    """The model's parts and the colour baseline on every clip with a true part map.

    ``kwargs`` go to :func:`~ipoke_core.analysis.parts.model_parts` (``length`` defaults to the
    parts grid's usual length, ``batch_size`` to 32).
    """
    from ipoke_core.analysis.parts import PartsError, default_length

    if not poker.predicts_motion:
        raise PartsError("this checkpoint predicts no motion of its own; parts need a motion-first checkpoint")
    kwargs.setdefault("length", default_length(poker))
    batch = kwargs.setdefault("batch_size", 32)
    out = PartsScore()
    scored = [c for c in clips if c.parts is not None]
    for i, clip in enumerate(scored):
        t0 = time.perf_counter()
        masks = poker.part_masks(clip.source) if poker.has_part_masks else None  # a parts model's own
        res = model_parts(lambda pokes, src=clip.source: poker.last_motion(src, pokes, batch), clip.source,
                          cancel=cancel, masks=masks, **kwargs)
        out.seconds.append(time.perf_counter() - t0)
        k = res.n_parts + int((res.labels < 0).any())
        base = colour_parts(clip.source, k)
        for (ari, rec), a_list, r_list in ((score_labels(res.labels, clip.parts), out.model_ari, out.model_recovered),
                                           (score_labels(base, clip.parts), out.colour_ari, out.colour_recovered)):
            a_list.append(ari)
            r_list.append(rec)
        out.n_parts.append(k)
        out.true_parts.append(int(np.unique(clip.parts[clip.parts >= 0]).size))
        out.pokes.append(int(res.timings["pokes"]))
        if progress is not None:  # running means, so that a long run can be read while it goes
            progress(i + 1, len(scored), f"ARI model {np.nanmean(out.model_ari):.3f} colour {np.nanmean(out.colour_ari):.3f}; "
                     f"recovered {np.nanmean(out.model_recovered):.3f} / {np.nanmean(out.colour_recovered):.3f}; "
                     f"{out.seconds[-1]:.0f} s")
    return out


def score_data_set(poker: Poker, root: str | Path, n_clips: int = 48, seed: int = 0,
                   progress: ProgressFn | None = None, **kwargs: Any) -> PartsScore:
    """:func:`score_parts` on ``n_clips`` test clips of a synthetic data set (``ipoke synth``)."""
    from ipoke_core.evaluate import load_eval_clips

    clips, _ = load_eval_clips(Path(root), poker.config, n_clips=n_clips, seed=seed)
    if not any(c.parts is not None for c in clips):
        from ipoke_core.analysis.parts import PartsError

        raise PartsError(f"{root} holds no true part maps: score parts on a synthetic set (ipoke synth)")
    return score_parts(poker, clips, progress, **kwargs)


__all__ = ["PartsScore", "adjusted_rand_index", "colour_parts", "recovered_share", "score_data_set", "score_labels",
           "score_parts"]
