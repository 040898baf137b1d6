"""What an evaluation can score on its clips, and how much work that is.

:class:`EvalSettings` are the caller's knobs (seeds, heatmap sizes, how many clips get heatmaps);
:func:`unavailable_metrics` says which columns cannot be computed and why (missing weights, no
ground truth, no simulator); :class:`EvalPlan` holds the clips as arrays, the clips that get
structure heatmaps, the background pokes and the progress total; :class:`Ticker` reports progress.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ipoke_core.analysis.structure import structure_defined
from ipoke_core.analysis.true_dynamics import TRUTH_MAGNITUDE, Simulator
from ipoke_core.evaluation.clips import EvalClip, background_poke
from ipoke_core.poke import Poke
from ipoke_core.progress import ProgressFn, report

TRUTH_KEYS = ("truth_corr", "truth_diff", "response_ring_auc")  # need the simulator
PHYSICS_KEYS = ("drag_px", "rigidity_px")  # need the true part map only
NO_PARTS = "the test set has no part maps / kinematic trees (real videos)"


@dataclass
class EvalSettings:
    """How much work the evaluation does and with which seed."""

    seed: int = 0
    heatmap_n: int = 16  # pokes per structure heatmap (the figures use 64; 16 keeps eval affordable)
    structure_clips: int = 8
    magnitude_range: tuple[float, float] = (2.0, 8.0)  # model px, for the structure heatmaps
    batch_size: int = 16
    truth_magnitude: tuple[float, float] = TRUTH_MAGNITUDE  # px at 64 px (scaled to R): the truth columns' pokes
    keep_maps: int = 0  # keep the truth-comparison maps of this many clips (EvalReport.maps, for a figure)


def unavailable_metrics(clips: Sequence[EvalClip], given: dict[str, str] | None, lpips_model: Any, i3d: Any,
                        simulator: Simulator | None) -> dict[str, str]:
    """Reason per metric key that cannot be computed: ``given`` first, then what the weights and clips lack.
    (Its order is the order of the notes.)"""
    unavailable = dict(given or {})
    if lpips_model is None:
        unavailable.setdefault("lpips", "no LPIPS weights given (--lpips-vgg and --lpips-lin)")
    if i3d is None:
        unavailable.setdefault("fvd", "no I3D weights given (--i3d)")
    if len(clips) < 2:
        unavailable.setdefault("fvd", "FVD needs at least 2 clips")
    if not any(c.has_gt for c in clips):
        unavailable.setdefault("motion_error_px", "the test set has no ground-truth motion (real videos)")
        unavailable.setdefault("structure_auc", NO_PARTS)
        unavailable.setdefault("structure_ring_auc", NO_PARTS)
        for key in PHYSICS_KEYS:
            unavailable.setdefault(key, "the test set has no part maps (real videos)")
    if simulator is None:
        for key in TRUTH_KEYS:
            unavailable.setdefault(key, "no simulator for this test set (not an `ipoke synth` data set)")
    return unavailable


@dataclass
class EvalPlan:
    """The clips as arrays and which of them each group of columns uses.

    sources ``(N, R, R, 3)`` and targets ``(N, T, R, R, 3)`` uint8; structure_set: the clips that get
    heatmaps; background: ``(clip index, background poke)`` pairs; truth / physics: whether the
    simulator columns / drag and rigidity are scored; total: progress steps before the simulator runs.
    """

    clips: Sequence[EvalClip]
    sources: np.ndarray
    targets: np.ndarray
    pokes: list[Poke]
    structure_set: list[EvalClip]
    background: list[tuple[int, Poke]]
    truth: bool
    physics: bool
    total: int


def make_plan(n_methods: int, clips: Sequence[EvalClip], settings: EvalSettings, unavailable: dict[str, str],
              simulator: Simulator | None) -> EvalPlan:
    """The plan for ``n_methods`` rows; notes in ``unavailable`` that background motion cannot be scored
    when no clip has an object mask."""
    # heatmaps are expensive: score only clips where the score is defined (poke on a non-root part)
    gt_clips = [c for c in clips if c.has_gt]
    structure_set = [c for c in gt_clips if structure_defined(c.parts, c.parents, (c.poke.x, c.poke.y))]
    structure_set = structure_set[: settings.structure_clips]
    truth = simulator is not None and not all(k in unavailable for k in TRUTH_KEYS) and bool(structure_set)
    physics = not all(k in unavailable for k in PHYSICS_KEYS)
    steps_per_method = len(clips) + len(structure_set) * (1 + (truth or physics))
    total = steps_per_method * n_methods + len(clips) + (len(structure_set) if truth else 0)
    background = [(i, p) for i, c in enumerate(clips) if (p := background_poke(c)) is not None]
    if not background:
        unavailable.setdefault("background_motion", "the test set has no object masks (real videos)")
    return EvalPlan(clips, np.stack([c.source for c in clips]), np.stack([c.target for c in clips]),
                    [c.poke for c in clips], structure_set, background, truth, physics, total)


class Ticker:
    """Counts finished steps and reports each as ``progress(done, total, message)``."""

    def __init__(self, progress: ProgressFn | None, total: int):
        self.progress = progress
        self.total = total
        self.done = 0

    def tick(self, message: str) -> None:
        self.done += 1
        report(self.progress, self.done, self.total, message)

    def skip(self, steps: int) -> None:
        """Count ``steps`` planned steps that turned out to have nothing to do (not reported)."""
        self.done += steps
