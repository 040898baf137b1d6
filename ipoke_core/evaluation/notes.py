"""The notes under the evaluation table: what each less obvious column measured here, and what could not be."""
from __future__ import annotations

from ipoke_core.analysis.true_dynamics import at_resolution
from ipoke_core.evaluation.plan import EvalPlan, EvalSettings
from ipoke_core.evaluation.truth import SimulatorAnswers


def table_notes(unavailable: dict[str, str], plan: EvalPlan, sim: SimulatorAnswers, s: EvalSettings) -> list[str]:
    """One line each: the unavailable metrics with their reasons, then how the truth, drag, rigidity,
    structure and FVD columns were measured on these clips, then what the ground-truth row is."""
    notes = [f"{k}: unavailable: {why}" for k, why in unavailable.items()]
    n_clips, structure_set = len(plan.clips), plan.structure_set
    if sim.cases:
        lo, hi = at_resolution(s.truth_magnitude, plan.clips[0].source.shape[0])
        notes.append(f"truth corr. / truth diff.: correlation / mean |difference| over the object of each method's "
                     f"Fig.-5 map with the simulator's, {s.heatmap_n} pushes at the clip's poke scaled to pokes of "
                     f"{lo:.2f}-{hi:.2f} px, the same pokes for every method, {len(sim.cases)} clips "
                     "(a method that never moves has no correlation: n/a)")
        notes.append("response, same distance: the same-distance AUC of the response map (how far each pixel moves "
                     "per pixel of poke) of those pokes; motion: the method's own where it has one, else DIS")
        notes.append(f"simulator row: the simulator's own maps of those pokes (its structure AUCs are of them, not of "
                     f"random {s.magnitude_range[0]:.2f}-{s.magnitude_range[1]:.2f} px pokes through DIS)")
        if sim.failures:
            notes.append(f"truth: {len(sim.failures)} clips not scored ({sim.failures[0]})")
    if plan.physics and structure_set:
        notes.append("drag: mean motion of the background 2-10 px from the poke under 2 px pokes in 8 directions at "
                     "the clip's poke point, px per 2 px poke (0 = still background, as the simulator's)")
        notes.append("rigidity: for the clip's own poke, RMS residual (px) of the best affine fit to the method's "
                     f"motion over each true part (>= 6 px), mean over parts then {len(structure_set)} clips (rigid: 0)")
    if "structure_auc" not in unavailable:
        if structure_set:
            lo, hi = s.magnitude_range
            notes.append(f"structure: ROC-AUC of {s.heatmap_n}-poke correlation heatmaps (poke lengths "
                         f"{lo:.2f}-{hi:.2f} px) at the clip's poke location "
                         f"over {len(structure_set)} clips (subtree of the poked part vs. the other object pixels; "
                         "clips poked on the root part have no negatives and are not used); 0.5 = no structure")
            notes.append("structure, same distance: the same AUC over pairs of pixels at the same distance from the "
                         "poke (rings 0.25 px wide): a blob around the poke scores about 0.5, only a map that follows "
                         "the parts scores above")
        else:
            notes.append("structure: no clip with a poke on a non-root part among the evaluated clips"
                         if s.structure_clips else "structure: skipped (--structure-clips 0)")
    if "fvd" not in unavailable and n_clips < 400:
        notes.append(f"FVD over {n_clips} clips (rank-deficient covariance): compare rows of this table only")
    notes.append("ground truth row: the true clips through the same DIS tracking/flow, i.e. the measurement floor")
    return notes
