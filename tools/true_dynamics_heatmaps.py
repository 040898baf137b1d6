"""Fig.-5 heatmaps of the simulator itself: what the structure score gives the data's own dynamics.

A synthetic clip is a pure function of (kind, seed, index), so its object can be rebuilt exactly
(``data.synthetic.clip.posed_object``) and pushed again with the physics that made the data set.
At a heatmap location l, ``true_responses`` pushes the point at l N times, in uniformly random
directions, with forces from a quarter to one and a half times the clip's own push, held as long
as the clip's; each poke is then what the physics made of it: the point's displacement p_i after
the window, and the motion of every frame-0 pixel. The Fig.-5 heatmap of those pokes and motions
(``analysis.heatmap.distance_variance`` / ``normalise_variance``, as for a model) is what a model
that had learnt the data's dynamics exactly would show, and its structure AUC is scored like a
model's in ``ipoke eval``.

Pushes, not displacements, because the physics cannot make every displacement: a point of a rigid
part moves along the part only when the joints above it turn, so the poke directions here are the
ones the object allows, not the uniform ones a model is asked for. With ``--compare`` each push is
scaled until its poke has a length from the checkpoint's range (or ``--heatmap-magnitude``), and the checkpoint and the
flow-warp baseline are given exactly those pokes: their heatmaps are scored on their own and
against the simulator's (mean |difference| over the object, correlation). The README's table:

    python tools/true_dynamics_heatmaps.py --data data/plants64_seed7 \
        --checkpoint resources/checkpoints/plants64 --structure-clips 48 --compare

``--figure maps.png`` draws the first clips' three maps side by side, the poked part's subtree outlined.

Every map is also scored as a response map (``analysis.heatmap.response_map``: how far each pixel
moves per pixel of poke, from the same pokes and motions), and every map by the same-distance AUC
(``analysis.structure.ring_structure_score``), which a blob around the poke cannot win;
``--figure-map response`` draws the response maps.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from ipoke_core.analysis.heatmap import (HeatmapError, correlation_heatmap, distance_variance, normalise_variance,
                                        response_map)
from ipoke_core.analysis.render import caption, colorize
from ipoke_core.analysis.structure import (poked_part, ring_structure_score, structure_defined, structure_score,
                                           subtree)
from ipoke_core.commands._common import length_range
from ipoke_core.data import read_dataset_meta
from ipoke_core.data.layout import GT, clip_dir
from ipoke_core.data.synthetic.clip import object_motion, posed_object
from ipoke_core.data.synthetic.physics import PokeForce, simulate
from ipoke_core.evaluate import EvalClip, flow_warp_method, load_eval_clips, model_method
from ipoke_core.image import write_png
from ipoke_core.inference import load_poker
from ipoke_core.poke import Poke

FORCE_RANGE = (0.25, 1.5)  # push lengths, as multiples of the clip's own
LENGTH_STEPS = 10  # rescalings of a push towards a wanted poke length


def true_responses(kind: str, seed: int, index: int, parts: np.ndarray, location: tuple[float, float], span: int,
                   fps: float, duration: float, force_scale: float, n: int = 16,
                   rng: np.random.Generator | None = None,
                   lengths: tuple[float, float] | None = None, pushes: int = 1,
                   props: int = 0) -> tuple[list[Poke], np.ndarray]:
    """N random pushes at ``location`` of clip ``index``: the pokes they make and ``(N, S, S, 2)`` motions.

    ``parts (S, S)`` is the clip's stored part map (S = stored size; ``location`` is in its pixels);
    it is checked against the rebuilt object. Poke i is the pushed point's displacement after
    ``span`` frames; motion i is where every frame-0 object pixel is then (zero on the background).
    With ``force_scale`` the clip's own force and a push along it, this is the clip's own motion.
    ``lengths (lo, hi)``: scale each push (keeping its direction) so that its poke is about a length
    drawn uniformly from the range, the lengths a model's heatmap is asked for; a push that cannot
    make a length within 10 % of the range is replaced by another. ``pushes``, ``props``: the data
    set's clips per object and props per backdrop (``dataset.json``).
    """
    size = parts.shape[0]
    obj = posed_object(kind, seed, index, size, pushes, props)
    if not np.array_equal(obj.labels.astype(np.int32) - 1, np.asarray(parts, np.int32)):
        raise ValueError(f"clip {index} of {kind} seed {seed} does not rebuild to its stored part map "
                         "(made by another generator version?)")
    part = poked_part(parts, location)
    if part < 0:
        raise ValueError(f"location {location} is not on the object")
    body = obj.body
    x, y = location
    a, (sx, sy) = obj.angles0[part], obj.starts0[part]
    uv = np.array([(x - sx) * np.cos(a) + (y - sy) * np.sin(a), -(x - sx) * np.sin(a) + (y - sy) * np.cos(a)])
    ys, xs = np.nonzero(parts >= 0)
    pid = parts[ys, xs].astype(int)
    rng = rng or np.random.default_rng(0)

    def push(force: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q, _ = simulate(body, PokeForce(part, float(uv[0]), float(uv[1]), (float(force[0]), float(force[1])), duration),
                        span + 1, fps)
        starts, angles = body.kinematics(q[[0, span]])
        a0, a1 = (body.points(starts[k], angles[k], part, uv[None])[0] for k in (0, 1))
        return a1 - a0, starts, angles

    pokes, motions = [], np.zeros((n, size, size, 2), np.float32)
    for _attempt in range(n if lengths is None else 8 * n):
        if len(pokes) == n:
            break
        angle = rng.uniform(0, 2 * np.pi)
        force = force_scale * rng.uniform(*FORCE_RANGE) * np.array([np.cos(angle), np.sin(angle)])
        moved, starts, angles = push(force)
        if lengths is not None:
            wanted = rng.uniform(*lengths)
            for _ in range(LENGTH_STEPS):  # the length grows about linearly with the force
                got = float(np.hypot(*moved))
                if got < 1e-9 or abs(got - wanted) < 0.01 * wanted:
                    break
                force = force * wanted / got
                moved, starts, angles = push(force)
            if not lengths[0] * 0.9 <= np.hypot(*moved) <= lengths[1] * 1.1:
                continue  # a length this push cannot make: draw another
        motions[len(pokes), ys, xs] = object_motion(pid, xs.astype(np.float64), ys.astype(np.float64), starts, angles)[1]
        pokes.append(Poke(float(x), float(y), float(moved[0]), float(moved[1])))
    if len(pokes) < n:
        raise ValueError(f"only {len(pokes)} of {n} pushes at {location} made pokes of {lengths[0]:g}-{lengths[1]:g} px")
    return pokes, motions


def true_heatmap(pokes: list[Poke], motions: np.ndarray) -> np.ndarray:
    """The Fig.-5 heatmap ``(S, S)`` of the physics' own pokes and motions (see module doc)."""
    return normalise_variance(distance_variance(motions, pokes), float(np.var([p.magnitude for p in pokes])))


def response_or_none(motions: np.ndarray, pokes: list[Poke]) -> np.ndarray | None:
    """The response map (``analysis.heatmap.response_map``), or None where the pokes keep to one line."""
    try:
        return response_map(motions, pokes)
    except HeatmapError:
        return None


def structure_scores(heat_map: np.ndarray | None, clip: EvalClip,
                     location: tuple[float, float]) -> tuple[float, float]:
    """(structure AUC, same-distance AUC) of a map; NaN for a missing response map."""
    if heat_map is None:
        return float("nan"), float("nan")
    return (structure_score(heat_map, clip.parts, clip.parents, location),
            ring_structure_score(heat_map, clip.parts, clip.parents, location))


def format_scores(pairs: list[tuple[float, float]]) -> str:
    """The mean scores of ``structure_scores`` pairs, naming how many clips' maps were missing."""
    scored = np.array(pairs, np.float64).reshape(-1, 2)
    missing = int(np.isnan(scored[:, 0]).sum())
    text = f"structure AUC {np.nanmean(scored[:, 0]):.3f}, same distance {np.nanmean(scored[:, 1]):.3f}"
    return text + (f" ({missing} clips' pokes in one direction, not scored)" if missing else "")


def figure_row(source: np.ndarray, parts: np.ndarray, parents: np.ndarray, location: tuple[float, float],
               maps: list[np.ndarray], names: list[str], aucs: list[float], upscale: int = 3) -> np.ndarray:
    """One clip of the --figure: the source with the poked part's subtree outlined (green) and the poke
    location (cyan), then each map (inferno, 0-1) with the same outline, captioned with its name and
    its structure AUC (``aucs``, as scored for the printed means). Returns ``(H, W, 3) uint8`` RGB."""
    positive = np.isin(parts, subtree(parents, poked_part(parts, location))).astype(np.uint8)
    positive = cv2.resize(positive, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
    outline, _ = cv2.findContours(positive, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    tiles = []
    for image, text in [(source, "source, poked subtree")] + [
            (colorize(m), f"{n.split(' (')[0][:16]} {a:.2f}") for m, n, a in zip(maps, names, aucs)]:
        big = cv2.resize(np.ascontiguousarray(image), None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
        cv2.drawContours(big, outline, -1, (0, 255, 0), 1)
        cv2.circle(big, (int(round(location[0] * upscale)), int(round(location[1] * upscale))), 3, (0, 255, 255), -1)
        tiles.append(caption(big, text))
        tiles.append(np.full((tiles[-1].shape[0], 4, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a synthetic test set (ipoke synth)")
    ap.add_argument("--checkpoint", default="resources/checkpoints/plants64",
                    help="whose resolution, clip length and heatmap poke lengths to use, as ipoke eval does")
    ap.add_argument("--n-clips", type=int, default=100)
    ap.add_argument("--structure-clips", type=int, default=48)
    ap.add_argument("--heatmap-n", type=int, default=16)
    ap.add_argument("--heatmap-magnitude", type=length_range, default=None, metavar="LO,HI",
                    help="poke lengths in model pixels (default: with --compare the checkpoint's training range, "
                         "else the simulator's own pushes), as in ipoke eval")
    ap.add_argument("--figure", type=Path, default=None, metavar="PNG",
                    help="with --compare: draw the first --figure-clips clips' maps side by side (source with the "
                         "poked part's subtree outlined, simulator, checkpoint, flow warping)")
    ap.add_argument("--figure-clips", type=int, default=6)
    ap.add_argument("--figure-map", choices=("paper", "response"), default="paper",
                    help="which maps --figure draws: the paper's Fig.-5 maps (default) or the response maps "
                         "(analysis.heatmap.response_map: how far each pixel moves per pixel of poke)")
    ap.add_argument("--compare", action="store_true",
                    help="also the checkpoint's and the flow-warp baseline's heatmaps for the SAME pokes (lengths in "
                         "the checkpoint's range or --heatmap-magnitude), each against the simulator's: mean "
                         "|difference|, correlation, AUC")
    args = ap.parse_args(argv)
    if args.figure is not None and not args.compare:
        ap.error("--figure draws the --compare maps: pass --compare too")
    if args.figure_clips < 1:
        ap.error(f"--figure-clips must be at least 1, got {args.figure_clips}")

    meta = read_dataset_meta(args.data)
    if not meta.get("has_ground_truth"):
        raise SystemExit(f"{args.data} is not a synthetic data set")
    poker = load_poker(args.checkpoint, device="cpu")
    cfg = poker.config
    if int(meta["resolution"]) != cfg.resolution:
        raise SystemExit(f"{args.data} is stored at {meta['resolution']} px, the checkpoint works at {cfg.resolution} px")
    clips, _ = load_eval_clips(args.data, cfg, args.n_clips, 0)
    clips = [c for c in clips if structure_defined(c.parts, c.parents, (c.poke.x, c.poke.y))][: args.structure_clips]
    scores, response_scores, lengths, figure_rows = [], [], [], []
    magnitudes = args.heatmap_magnitude or (poker.magnitude_range() if args.compare else None)
    methods = [model_method(Path(args.checkpoint).name, poker), flow_warp_method(cfg.seq_len)] if args.compare else []
    versus = {m.name: {"difference": [], "correlation": [], "scores": [], "response": []} for m in methods}
    for c in clips:
        with np.load(clip_dir(args.data, c.clip_id) / GT) as z:
            duration, force, parts = float(z["poke_duration"]), z["poke"][2:4], z["parts"]
        pokes, motions = true_responses(meta["kind"], int(meta["seed"]), int(c.clip_id), parts, (c.poke.x, c.poke.y),
                                        cfg.seq_len, float(meta["fps"]), duration, float(np.hypot(*force)),
                                        args.heatmap_n, np.random.default_rng(c.index), magnitudes,
                                        int(meta.get("pushes", 1)), int(meta.get("props", 0)))
        lengths += [p.magnitude for p in pokes]
        truth = true_heatmap(pokes, motions)
        location = (c.poke.x, c.poke.y)
        scores.append(structure_scores(truth, c, location))
        truth_response = response_or_none(motions, pokes)
        response_scores.append(structure_scores(truth_response, c, location))
        on_object = c.parts >= 0
        drawn = {"paper": [truth], "response": [truth_response]}
        for m in methods:
            result = correlation_heatmap(lambda pk, m=m, c=c: m.generate(c.source, [[p] for p in pk]), c.source,
                                         location, pokes=pokes, keep_motions=True)
            heat = result.heatmap
            response = response_or_none(result.motions, pokes)
            drawn["paper"].append(heat)
            drawn["response"].append(response)
            versus[m.name]["response"].append(structure_scores(response, c, location))
            versus[m.name]["difference"].append(float(np.abs(heat - truth)[on_object].mean()))
            versus[m.name]["correlation"].append(float(np.corrcoef(heat[on_object], truth[on_object])[0, 1]))
            versus[m.name]["scores"].append(structure_scores(heat, c, location))
        if args.figure is not None and len(figure_rows) < args.figure_clips:
            own, key = (scores, "scores") if args.figure_map == "paper" else (response_scores, "response")
            aucs = [own[-1][0]] + [versus[m.name][key][-1][0] for m in methods]
            maps = [np.zeros_like(truth) if heat_map is None else heat_map for heat_map in drawn[args.figure_map]]
            figure_rows.append(figure_row(c.source, c.parts, c.parents, location, maps,
                                          ["simulator"] + [m.name for m in methods], aucs))
    how = (f"pushes scaled to pokes of {magnitudes[0]:.2f}-{magnitudes[1]:.2f} px" if magnitudes
           else "random pushes")
    print(f"{args.data}: the simulator's own heatmaps ({args.heatmap_n} {how} at each clip's poke location, "
          f"{len(scores)} clips): {format_scores(scores)}; response maps: {format_scores(response_scores)}")
    print(f"  the pokes they made: {np.percentile(lengths, 5):.2f}-{np.percentile(lengths, 95):.2f} px (5th-95th "
          f"percentile; median {np.median(lengths):.2f} px)")
    for name, v in versus.items():
        print(f"  {name}, same pokes: mean |heatmap - simulator's| over the object {np.mean(v['difference']):.3f}, "
              f"correlation {np.nanmean(v['correlation']):.3f}, {format_scores(v['scores'])}; "
              f"response maps: {format_scores(v['response'])}")
    if figure_rows:
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        write_png(np.concatenate(figure_rows, 0), args.figure)
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
