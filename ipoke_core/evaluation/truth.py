"""Scores against the true dynamics (``analysis.true_dynamics``), on the structure clips.

The simulator rebuilds each clip and pushes its poke point ``heatmap_n`` times, scaled to pokes of
``truth_magnitude``: those are the *cases*. Its own maps make the ``simulator (true dynamics)`` row;
every method is then given exactly the same pokes and its maps are compared with the simulator's.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ipoke_core.analysis.heatmap import correlation_heatmap
from ipoke_core.analysis.structure import ring_structure_score, structure_score
from ipoke_core.analysis.true_dynamics import (
    Simulator, agreement, at_resolution, drag, response_or_none, rigidity, true_heatmap,
)
from ipoke_core.evaluation.clips import EvalClip
from ipoke_core.evaluation.plan import PHYSICS_KEYS, EvalPlan, EvalSettings, Ticker
from ipoke_core.evaluation.report import COLUMNS, mean_of_finite
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, check

if TYPE_CHECKING:
    from ipoke_core.evaluation.methods import Method

SIMULATOR = "simulator (true dynamics)"
SIMULATOR_COLUMNS = ("structure_auc", "structure_ring_auc", "response_ring_auc", *PHYSICS_KEYS)


@dataclass
class TruthCase:
    """One structure clip the simulator scored: its pokes, its Fig.-5 map ``(R, R)`` and its response map
    ``(R, R)`` (None: undefined, e.g. pokes along one line)."""

    clip: EvalClip
    pokes: list[Poke]
    heat: np.ndarray
    response: np.ndarray | None


@dataclass
class SimulatorAnswers:
    """The simulator's cases, the clips it could not score (one message each) and its row."""

    cases: list[TruthCase] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=lambda: {
        "method": SIMULATOR, "n_clips": 0, "skip": {k for k, _, _ in COLUMNS} - set(SIMULATOR_COLUMNS)})


def ring_or_nan(heat_map: np.ndarray | None, clip: EvalClip, location: tuple[float, float]) -> float:
    """Same-distance AUC of a map; NaN for a response map that is undefined (pokes along one line)."""
    return float("nan") if heat_map is None else ring_structure_score(heat_map, clip.parts, clip.parents, location)


def auc_or_nan(heat_map: np.ndarray | None, clip: EvalClip) -> float:
    loc = (clip.poke.x, clip.poke.y)
    return float("nan") if heat_map is None else structure_score(heat_map, clip.parts, clip.parents, loc)


def simulator_answers(simulator: Simulator, plan: EvalPlan, s: EvalSettings, ticker: Ticker,
                      cancel: CancelToken | None) -> SimulatorAnswers:
    """The simulator's answer at each structure clip (the pokes every method is then given) and its row."""
    out = SimulatorAnswers()
    lengths = at_resolution(s.truth_magnitude, plan.clips[0].source.shape[0])
    sim: dict[str, list[float]] = {k: [] for k in SIMULATOR_COLUMNS}
    for c in plan.structure_set:
        check(cancel)
        loc = (c.poke.x, c.poke.y)
        try:
            pokes_c, motions_c = simulator.responses(c.clip_id, loc, s.heatmap_n, lengths,
                                                     np.random.default_rng(s.seed + c.index))
        except ValueError as e:  # a clip that does not rebuild, or pushes that cannot make the lengths
            out.failures.append(f"clip {c.clip_id}: {e}")
        else:
            heat, response = true_heatmap(pokes_c, motions_c), response_or_none(motions_c, pokes_c)
            out.cases.append(TruthCase(c, pokes_c, heat, response))
            sim["structure_auc"].append(structure_score(heat, c.parts, c.parents, loc))
            sim["structure_ring_auc"].append(ring_structure_score(heat, c.parts, c.parents, loc))
            sim["response_ring_auc"].append(ring_or_nan(response, c, loc))
            sim["drag_px"].append(drag(motions_c, pokes_c, c.parts))
            sim["rigidity_px"].append(rigidity(c.motion, c.parts))
        ticker.tick("simulator")
    out.row.update({k: mean_of_finite(v) for k, v in sim.items()}, n_clips=len(out.cases))
    return out


def kept_maps(cases: list[TruthCase], keep: int) -> list[dict[str, Any]]:
    """The maps of the first ``keep`` cases for a figure, the simulator's first; methods append theirs."""
    return [{"clip": k.clip, "names": [SIMULATOR], "paper": [k.heat], "response": [k.response],
             "paper_auc": [structure_score(k.heat, k.clip.parts, k.clip.parents, (k.clip.poke.x, k.clip.poke.y))],
             "response_auc": [auc_or_nan(k.response, k.clip)]} for k in cases[:keep]]


def truth_scores(m: Method, cases: list[TruthCase], s: EvalSettings, kept: list[dict[str, Any]],
                 cancel: CancelToken | None, tick: Callable[[], None]) -> dict[str, float | None]:
    """truth_corr, truth_diff, response_ring_auc of ``m`` given exactly the simulator's pokes of each case;
    appends its maps to ``kept``."""
    corr, diff, ring = [], [], []
    for i, case in enumerate(cases):
        c, pokes, heat = case.clip, case.pokes, case.heat
        loc = (c.poke.x, c.poke.y)
        res = correlation_heatmap(None, c.source, loc, pokes=pokes, batch_size=s.batch_size, cancel=cancel,
                                  motion=lambda pk, c=c: m.last_motion(c.source, pk), keep_motions=True)
        response = response_or_none(res.motions, pokes)
        r, d = agreement(res.heatmap, heat, c.parts)
        corr.append(r)
        diff.append(d)
        ring.append(ring_or_nan(response, c, loc))
        if i < len(kept):
            kept[i]["names"].append(m.name)
            kept[i]["paper"].append(res.heatmap)
            kept[i]["response"].append(response)
            kept[i]["paper_auc"].append(structure_score(res.heatmap, c.parts, c.parents, loc))
            kept[i]["response_auc"].append(auc_or_nan(response, c))
        tick()
    return {"truth_corr": mean_of_finite(corr), "truth_diff": mean_of_finite(diff),
            "response_ring_auc": mean_of_finite(ring)}
