"""What do the simulator's Fig.-5 maps reward? Model-free reference maps scored like `ipoke eval`'s truth columns.

Team script (not part of the product), for docs/experiments/2026-12-07-poked-part.md. On the structure
clips of a synthetic test set (the clips and pokes `ipoke eval --structure-clips N` uses), each
reference answers every truth poke with ``motion(x) = g(x) * poke``, a pixel following a fixed fraction
g(x) of the poke, so its Fig.-5 map is exactly g; then its correlation with the simulator's map over
the object, as the eval's `truth corr.` column:

- ``blob s``: g = exp(-d^2 / 2 s^2), d the distance from the poke (s = 8 px at 64 px is flow warping);
- ``blob s, part`` / ``subtree`` / ``chain``: the blob on the TRUE poked part only / its subtree / its
  subtree and ancestors (what a model with perfect part masks could gate it to);
- ``cone r``: g = max(0, 1 - d / r), the map of a part turning rigidly about a pivot r px from the poke;
  ``cone, best r per clip``: the best of several radii for each clip (an upper bound for maps whose
  shape is right and whose size a model would have to infer).

With ``--unseen K`` it also asks what an image alone can tell: the frames do not show the joints'
springs nor how long the push is held, so each clip's physics is drawn K more times from the
generator's own distributions (same object, same pokes' directions and lengths) and the mean of those
K simulator maps is scored against the clip's own (``simulator, mean of K other draws``: about the
best any model of the image can do), beside a single other draw.

With ``--checkpoint`` (repeatable) it also reports, for each model and for the simulator, how wide the
maps are (heat-weighted mean distance from the poke over the object) and, for each model, how much of
the poke the poked pixel follows at poke lengths 1, 2 and 4 px (the simulator: exactly 1).

    python docs/experiments/truth_references.py data/figures64_seed7 --clips 48 \\
        --checkpoint resources/checkpoints/figures64
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ipoke_core.analysis.heatmap import correlation_heatmap  # noqa: E402
from ipoke_core.analysis.structure import poked_part, subtree  # noqa: E402
from ipoke_core.analysis.true_dynamics import Simulator, agreement, at_resolution, true_heatmap  # noqa: E402
from ipoke_core.config import ModelConfig  # noqa: E402
from ipoke_core.data import read_dataset_meta  # noqa: E402
from ipoke_core.evaluation.clips import load_eval_clips  # noqa: E402
from ipoke_core.evaluation.plan import EvalSettings, Ticker, make_plan  # noqa: E402
from ipoke_core.evaluation.truth import TruthCase, simulator_answers  # noqa: E402
from ipoke_core.poke import Poke  # noqa: E402

BLOB_SIGMAS = (2.0, 4.0, 8.0)  # px at 64 px
CONE_RADII = (3.0, 6.0, 10.0, 16.0)
BEST_RADII = (2.0, 3.0, 4.0, 6.0, 8.0, 11.0, 16.0, 24.0, 32.0)
FOLLOW_LENGTHS = (1.0, 2.0, 4.0)


def simulator_cases(root: Path, resolution: int, seq_len: int, clips: int) -> list[TruthCase]:
    """The simulator's maps at the first ``clips`` structure clips, with the eval's pokes."""
    cfg = ModelConfig(resolution=resolution, seq_len=seq_len)
    loaded, _ = load_eval_clips(root, cfg, 100, 0)
    settings = EvalSettings(structure_clips=clips)
    simulator = Simulator.from_dataset(root, resolution, seq_len)
    plan = make_plan(1, loaded, settings, {}, simulator)
    return simulator_answers(simulator, plan, settings, Ticker(None, plan.total), None).cases


def fraction_map_corr(g: np.ndarray, case: TruthCase) -> float:
    """Correlation with the simulator's map of the map of ``motion = g * poke`` for the case's pokes."""
    motions = np.stack([np.stack([g * p.dx, g * p.dy], -1) for p in case.pokes]).astype(np.float32)
    return agreement(true_heatmap(case.pokes, motions), case.heat, case.clip.parts)[0]


def distance_to_poke(case: TruthCase) -> np.ndarray:
    """``(R, R)`` float32: each pixel's distance (px) from the case's poke."""
    c = case.clip
    r = c.parts.shape[0]
    ys, xs = np.mgrid[0:r, 0:r].astype(np.float32)
    return np.hypot(xs - c.poke.x, ys - c.poke.y)


def blob(case: TruthCase, sigma: float) -> np.ndarray:
    """``(R, R)``: a Gaussian of ``sigma`` px around the case's poke, 1 at the poke."""
    return np.exp(-distance_to_poke(case) ** 2 / (2 * sigma**2))


def reference_scores(cases: list[TruthCase], scale: float) -> dict[str, float]:
    """Mean correlation with the simulator's maps of every reference (see the module doc)."""
    scores: dict[str, list[float]] = {}
    for case in cases:
        c = case.clip
        d = distance_to_poke(case)
        part = poked_part(c.parts, (c.poke.x, c.poke.y))
        below = np.isin(c.parts, subtree(c.parents, part))
        above, p = [], part
        while p >= 0:
            above.append(p)
            p = int(c.parents[p])
        gates = {"": None, ", part": c.parts == part, ", subtree": below, ", chain": below | np.isin(c.parts, above)}
        for s in BLOB_SIGMAS:
            g = blob(case, s * scale)
            for name, gate in gates.items():
                scores.setdefault(f"blob {s:g} px{name}", []).append(
                    fraction_map_corr(g if gate is None else g * gate, case))
        for rad in CONE_RADII:
            scores.setdefault(f"cone {rad:g} px", []).append(fraction_map_corr(np.clip(1 - d / (rad * scale), 0, 1), case))
        best = max(fraction_map_corr(np.clip(1 - d / (rad * scale), 0, 1), case) for rad in BEST_RADII)
        scores.setdefault("cone, best r per clip", []).append(best)
    return {k: float(np.nanmean(v)) for k, v in scores.items()}


def unseen_scores(simulator: Simulator, cases: list[TruthCase], draws: int, lengths: tuple[float, float],
                  heatmap_n: int, seed: int) -> dict[str, float]:
    """Correlation with each clip's own map of the simulator's maps with the unseen physics drawn anew:
    the mean of ``draws`` other draws, and one other draw (see the module doc)."""
    mean_corr, one_corr = [], []
    for case in cases:
        c = case.clip
        maps = []
        for k in range(draws):
            try:
                pokes, motions = simulator.responses(c.clip_id, (c.poke.x, c.poke.y), heatmap_n, lengths,
                                                     np.random.default_rng(seed + c.index),
                                                     np.random.default_rng([seed, c.index, k]))
            except ValueError:  # pushes that cannot make the lengths with these springs: leave the draw out
                continue
            maps.append(true_heatmap(pokes, motions))
        if maps:
            mean_corr.append(agreement(np.mean(maps, 0), case.heat, c.parts)[0])
            one_corr.append(agreement(maps[0], case.heat, c.parts)[0])
    return {f"simulator, mean of {draws} other draws": float(np.nanmean(mean_corr)),
            "simulator, one other draw": float(np.nanmean(one_corr))}


def spread(heat: np.ndarray, case: TruthCase) -> float:
    """Heat-weighted mean distance (px) from the poke over the object."""
    on = case.clip.parts >= 0
    d, h = distance_to_poke(case)[on], heat[on]
    return float((h * d).sum() / max(h.sum(), 1e-6))


def model_map_scores(poker, cases: list[TruthCase]) -> tuple[np.ndarray, np.ndarray]:
    """Per case: the truth corr. of the model's Fig.-5 map (the case's pokes) and the map's spread (px)."""
    corr, width = [], []
    for case in cases:
        c = case.clip
        res = correlation_heatmap(None, c.source, (c.poke.x, c.poke.y), pokes=case.pokes,
                                  motion=lambda pk, src=c.source: poker.last_motion(src, pk))
        corr.append(agreement(res.heatmap, case.heat, c.parts)[0])
        width.append(spread(res.heatmap, case))
    return np.array(corr), np.array(width)


def model_scores(checkpoint: str, cases: list[TruthCase]) -> tuple[float, float, np.ndarray]:
    """(truth corr., map spread, the share of the poke the poked pixel follows at FOLLOW_LENGTHS)."""
    from ipoke_core.inference import Poker

    poker = Poker.from_checkpoint(checkpoint, device="cpu")
    corr, width = model_map_scores(poker, cases)
    follow = []
    for case in cases:
        c = case.clip
        source, loc = c.source, (c.poke.x, c.poke.y)
        angles = np.linspace(0, 2 * np.pi, 4, endpoint=False)
        pokes = [Poke(loc[0], loc[1], n * np.cos(a), n * np.sin(a)) for n in FOLLOW_LENGTHS for a in angles]
        at = poker.last_motion(source, pokes, 16)[:, int(round(loc[1])), int(round(loc[0]))]
        along = [float(at[i] @ np.array([p.dx, p.dy])) / p.magnitude**2 for i, p in enumerate(pokes)]
        follow.append(np.reshape(along, (len(FOLLOW_LENGTHS), -1)).mean(1))
    return float(np.nanmean(corr)), float(width.mean()), np.mean(follow, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path, help="a synthetic test set (ipoke synth)")
    ap.add_argument("--clips", type=int, default=48, help="structure clips (the eval's --structure-clips)")
    ap.add_argument("--seq-len", type=int, default=10, help="frames the models predict (the simulator's window)")
    ap.add_argument("--unseen", type=int, default=0, metavar="K",
                    help="also score the mean of K simulator maps with the unseen physics drawn anew")
    ap.add_argument("--checkpoint", action="append", default=[], help="also score this model (repeatable)")
    args = ap.parse_args()
    resolution = int(read_dataset_meta(args.data)["resolution"])
    cases = simulator_cases(args.data, resolution, args.seq_len, args.clips)
    print(f"{args.data}: {len(cases)} structure clips at {resolution} px")
    for name, value in reference_scores(cases, resolution / 64.0).items():
        print(f"  {name:28s} truth corr. {value:.3f}")
    if args.unseen:
        settings = EvalSettings(structure_clips=args.clips)
        simulator = Simulator.from_dataset(args.data, resolution, args.seq_len)
        lengths = at_resolution(settings.truth_magnitude, resolution)
        for name, value in unseen_scores(simulator, cases, args.unseen, lengths, settings.heatmap_n,
                                         settings.seed).items():
            print(f"  {name:28s} truth corr. {value:.3f}")
    print(f"  {'simulator':28s} spread {np.mean([spread(k.heat, k) for k in cases]):5.2f} px")
    for ck in args.checkpoint:
        corr, width, follow = model_scores(ck, cases)
        print(f"  {ck:28s} truth corr. {corr:.3f}  spread {width:5.2f} px  poked pixel follows "
              + " / ".join(f"{v:.2f}" for v in follow) + f" of {' / '.join(f'{n:g}' for n in FOLLOW_LENGTHS)} px pokes")


if __name__ == "__main__":
    main()
