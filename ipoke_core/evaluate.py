"""The evaluation behind ``ipoke eval``: the paper's Tables 2-4 on a held-out test set.

Every method (the model, baselines, ablation checkpoints) generates one video per test clip
from the clip's source frame and poke. Columns:

- LPIPS, PSNR, SSIM: per frame against the ground-truth frames, averaged over time, then clips
  (paper Sec. 4.3). LPIPS needs local weight files.
- FVD: Fréchet distance of I3D embeddings of generated vs. true clips (T frames each). Needs a
  local I3D file; with few clips only comparable between rows of one table.
- poke accuracy (px): the poked pixel tracked through the video with DIS flow ends this far from
  the poke target (lower is better). The ``ground truth`` row is the same on the true clips,
  i.e. the floor set by tracking error and by how far the object truly went.
- motion error (px): end-point error between DIS flow source -> last generated frame and the
  true motion of the object pixels (synthetic data only). The ``ground truth`` row is DIS on the
  true clips: the flow estimator's own error.
- sharpness (%): variance of the Laplacian of the last frame over the source's (100 = as sharp as
  the input; blur from averaged uncertainty lowers it).
- background (grey levels): a poke of the clip's magnitude on the background pixel farthest from
  the object; mean |last frame - source| over the whole image on 0..255 (0 = the image stays still,
  as it should; synthetic data only).
- structure (AUC): the structure score of a correlation heatmap at the clip's poke location
  (``analysis.structure``), on the first ``structure_clips`` clips with ground truth.

Against the true dynamics (``analysis.true_dynamics``), on the same structure clips; each method's
motion is its own (``Method.motion``) where it has one, else DIS flow source -> last frame:
- truth corr., truth diff.: the simulator rebuilds the clip and pushes its poke point N times,
  scaled to pokes of ``truth_magnitude`` (one fixed range for every method); each method gets
  exactly those pokes; correlation and mean |difference| of its Fig.-5 map with the simulator's,
  over the object pixels.
- response, same distance (AUC): the same-distance AUC of the method's response map of those pokes.
- drag (px): mean motion of the background 2-10 px from the poke under 2 px pokes in 8 directions
  at the clip's poke point, per 2 px of poke (the simulator: 0).
- rigidity (px): for the clip's own poke, the RMS residual of the best affine fit to the method's
  motion over each true part (>= 6 px), averaged over parts, then clips (the simulator: about 0).
A ``simulator (true dynamics)`` row gives the simulator's own scores (needs ``simulator=``).

A metric that cannot be computed is reported as unavailable with its reason, never as 0.

``evaluate`` lists the steps; each lives in ``ipoke_core.evaluation`` (clips, methods, plan, rows,
truth, notes, report). The names callers use are importable from here.
"""
from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Sequence
from typing import Any

from ipoke_core.analysis.true_dynamics import Simulator
from ipoke_core.evaluation.clips import EvalClip, EvalError, background_poke, load_eval_clips
from ipoke_core.evaluation.methods import GenerateFn, Method, MotionFn, flow_warp_method, model_method, static_method
from ipoke_core.evaluation.notes import table_notes
from ipoke_core.evaluation.plan import (
    PHYSICS_KEYS, TRUTH_KEYS, EvalSettings, Ticker, make_plan, unavailable_metrics,
)
from ipoke_core.evaluation.report import COLUMNS, EvalReport, write_report
from ipoke_core.evaluation.rows import Judges, ground_truth_row, method_row
from ipoke_core.evaluation.truth import SIMULATOR, SimulatorAnswers, kept_maps, simulator_answers
from ipoke_core.progress import CancelToken, ProgressFn

__all__ = [
    "COLUMNS", "PHYSICS_KEYS", "SIMULATOR", "TRUTH_KEYS", "EvalClip", "EvalError", "EvalReport", "EvalSettings",
    "GenerateFn", "Method", "MotionFn", "background_poke", "evaluate", "flow_warp_method", "load_eval_clips",
    "model_method", "static_method", "write_report",
]


def evaluate(
    methods: Sequence[Method],
    clips: Sequence[EvalClip],
    settings: EvalSettings | None = None,
    lpips_model: Any = None,
    i3d: Any = None,
    unavailable: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    simulator: Simulator | None = None,
) -> EvalReport:
    """Score every method on every clip (see module doc).

    Args:
        lpips_model: a ``metrics.lpips.LPIPS`` or None; i3d: a ``metrics.fvd.I3DEmbedder`` or None.
        unavailable: reason per metric key for those that cannot be computed (e.g. missing weights).
        simulator: the test set's physics (``analysis.true_dynamics.Simulator``) for the truth columns
            and the simulator row; None: those columns are unavailable.
    """
    if not clips:
        raise EvalError("the test set has no clips to evaluate")
    s = settings or EvalSettings()
    t_start = time.perf_counter()
    unavailable = unavailable_metrics(clips, unavailable, lpips_model, i3d, simulator)
    plan = make_plan(len(methods), clips, s, unavailable, simulator)
    ticker = Ticker(progress, plan.total)

    gt_row = ground_truth_row(clips, ticker, cancel)
    judges = Judges(lpips_model if "lpips" not in unavailable else None, i3d)
    if "fvd" not in unavailable:
        judges.real_feats = i3d.embed(plan.targets, cancel=cancel)
    # the simulator's answer at each structure clip: the pokes every method is then given
    sim = simulator_answers(simulator, plan, s, ticker, cancel) if plan.truth else SimulatorAnswers()
    ticker.total += len(methods) * len(sim.cases)  # every method's maps of the simulator's pokes
    if plan.truth and not sim.cases:
        for key in TRUTH_KEYS:
            unavailable.setdefault(key, f"the simulator scored no clip ({sim.failures[0]})")
    kept = kept_maps(sim.cases, s.keep_maps)
    rows = [method_row(m, plan, s, judges, sim.cases, kept, ticker, cancel) for m in methods]

    notes = table_notes(unavailable, plan, sim, s)
    for row in rows:  # an unavailable column reads n/a on every method's row
        row.update(dict.fromkeys(unavailable))
    info = {"date": _dt.date.today().isoformat(), "clips": len(clips), "seed": s.seed,
            "elapsed_s": round(time.perf_counter() - t_start, 1)}
    return EvalReport(rows + ([sim.row] if sim.cases else []) + [gt_row], notes, info, kept)
