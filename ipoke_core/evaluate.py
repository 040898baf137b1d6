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
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ipoke_core.analysis.baselines import flow_warp_motion, flow_warp_videos, static_video
from ipoke_core.analysis.heatmap import correlation_heatmap
from ipoke_core.analysis.structure import ring_structure_score, structure_defined, structure_score
from ipoke_core.analysis.true_dynamics import (
    TRUTH_MAGNITUDE, Simulator, agreement, at_resolution, drag, drag_pokes, response_or_none, rigidity, true_heatmap,
)
from ipoke_core.errors import UserError
from ipoke_core.metrics.motion_error import motion_error
from ipoke_core.metrics.poke_accuracy import poke_accuracy
from ipoke_core.metrics.psnr import psnr
from ipoke_core.metrics.sharpness import sharpness_ratio
from ipoke_core.metrics.ssim import ssim
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, ProgressFn, check, report

GenerateFn = Callable[[np.ndarray, Sequence[Sequence[Poke]]], np.ndarray]
MotionFn = Callable[[np.ndarray, list[Poke]], np.ndarray]  # (source, pokes) -> (N, R, R, 2) float32 last-frame motion
COLUMNS = [  # key, header (its arrow: higher or lower is better), format
    ("lpips", "LPIPS ↓", "{:.3f}"),
    ("psnr", "PSNR ↑", "{:.2f}"),
    ("ssim", "SSIM ↑", "{:.3f}"),
    ("fvd", "FVD ↓", "{:.1f}"),
    ("poke_accuracy_px", "poke acc. (px) ↓", "{:.2f}"),
    ("motion_error_px", "motion err. (px) ↓", "{:.2f}"),
    ("sharpness_pct", "sharpness (%) ↑", "{:.0f}"),
    ("background_motion", "bg poke motion ↓", "{:.2f}"),
    ("structure_auc", "structure (AUC) ↑", "{:.3f}"),
    ("structure_ring_auc", "structure, same distance (AUC) ↑", "{:.3f}"),
    ("truth_corr", "truth corr. ↑", "{:.3f}"),
    ("truth_diff", "truth diff. ↓", "{:.3f}"),
    ("response_ring_auc", "response, same distance (AUC) ↑", "{:.3f}"),
    ("drag_px", "drag (px) ↓", "{:.2f}"),
    ("rigidity_px", "rigidity (px) ↓", "{:.3f}"),
]
TRUTH_KEYS = ("truth_corr", "truth_diff", "response_ring_auc")  # need the simulator
PHYSICS_KEYS = ("drag_px", "rigidity_px")  # need the true part map only
SIMULATOR = "simulator (true dynamics)"


class EvalError(UserError, ValueError):
    """The evaluation cannot run as asked (incompatible checkpoint and data, empty test set...)."""


@dataclass
class EvalClip:
    """One test sample, in model pixels.

    source: ``(R, R, 3) uint8`` frame 0; target: ``(T, R, R, 3) uint8`` the true frames 1..T;
    poke: the clip's poke; motion: ``(R, R, 2)`` true displacement of every source pixel at
    frame T (None without ground truth); parts ``(R, R)`` (-1 background) and parents ``(P,)``;
    clip_id: the clip's folder name in the data set.
    """

    index: int
    source: np.ndarray
    target: np.ndarray
    poke: Poke
    motion: np.ndarray | None = None
    parts: np.ndarray | None = None
    parents: np.ndarray | None = None
    clip_id: str = ""

    @property
    def has_gt(self) -> bool:
        return self.motion is not None and self.parts is not None and self.parents is not None


@dataclass
class Method:
    """A row of the table.

    generate: like ``Poker.generate``: ``(source, pokes_per_video) -> (N, T, R, R, 3) uint8``
    (used for heatmaps). generate_clips: one video per (source, poke) pair across different
    sources, ``(sources (N, R, R, 3), pokes) -> (N, T, R, R, 3)``; defaults to a loop over generate.
    motion: the method's own last-frame motion, ``(source (R, R, 3) uint8, pokes) -> (N, R, R, 2)
    float32`` model px, one poke per video (e.g. ``Poker.last_motion``); None: DIS flow of its frames.
    """

    name: str
    generate: GenerateFn
    generate_clips: Callable[[np.ndarray, Sequence[Poke]], np.ndarray] | None = None
    motion: MotionFn | None = None

    def videos(self, sources: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
        if self.generate_clips is not None:
            return self.generate_clips(sources, pokes)
        return np.concatenate([self.generate(s, [[p]]) for s, p in zip(sources, pokes)])

    def last_motion(self, source: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
        """``(N, R, R, 2) float32``: where every source pixel is at the last frame, one poke per video:
        ``motion`` where given, else DIS flow from the source to the last generated frame (as
        ``correlation_heatmap`` measures it without ``motion=``)."""
        import cv2

        from ipoke_core.flow import make_dis

        if self.motion is not None:
            return np.asarray(self.motion(source, list(pokes)), np.float32)
        videos = self.generate(source, [[p] for p in pokes])
        dis = make_dis("medium", small=max(source.shape[:2]) <= 160)
        gray = cv2.cvtColor(source, cv2.COLOR_RGB2GRAY)
        return np.stack([dis.calc(gray, cv2.cvtColor(v[-1], cv2.COLOR_RGB2GRAY), None) for v in videos]).astype(np.float32)


def static_method(seq_len: int) -> Method:
    """The source repeated: a model that ignores the poke."""
    return Method("static (source repeated)", lambda src, pokes: static_video(src, pokes, seq_len),
                  motion=lambda src, pokes: np.zeros((len(pokes),) + src.shape[:2] + (2,), np.float32))


def flow_warp_method(seq_len: int, sigma: float | None = None) -> Method:
    """Warp the source along the poke spread by a Gaussian falloff, linearly in time (Hao et al. in spirit)."""
    return Method("flow warping (Hao-style)", lambda src, pokes: flow_warp_videos(src, pokes, seq_len, sigma),
                  motion=lambda src, pokes: flow_warp_motion(src, pokes, sigma))


def model_method(name: str, poker: Any, batch_size: int = 32) -> Method:
    """A checkpoint as a row; clips of different sources are batched into shared forward passes."""
    import torch

    from ipoke_core.inference import to_tensor, to_uint8
    from ipoke_core.poke import rasterize_batch

    cfg = poker.config

    @torch.inference_mode()
    def generate_clips(sources: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
        r, n = cfg.resolution, len(pokes)
        out = np.empty((n, cfg.seq_len, r, r, 3), np.uint8)
        for s in range(0, n, batch_size):
            img = to_tensor(sources[s:s + batch_size]).to(poker.device)
            pm = rasterize_batch([[p] for p in pokes[s:s + batch_size]], r, cfg.poke_radius, cfg.poke_mode,
                                 cfg.poke_scale).to(poker.device)
            with torch.autocast(poker.device.type, dtype=poker.amp_dtype, enabled=poker.amp_dtype is not None):
                video, _ = poker.model(img, pm)
            out[s:s + len(img)] = to_uint8(video)
        return out

    motion = (lambda src, pk: poker.last_motion(src, pk, batch_size)) if poker.predicts_motion else None
    return Method(name, lambda src, pk: poker.generate(src, pk, batch_size=batch_size), generate_clips, motion)


@dataclass
class EvalSettings:
    seed: int = 0
    heatmap_n: int = 16  # pokes per structure heatmap (the figures use 64; 16 keeps eval affordable)
    structure_clips: int = 8
    magnitude_range: tuple[float, float] = (2.0, 8.0)  # model px, for the structure heatmaps
    batch_size: int = 16
    truth_magnitude: tuple[float, float] = TRUTH_MAGNITUDE  # px at 64 px (scaled to R): the truth columns' pokes
    keep_maps: int = 0  # keep the truth-comparison maps of this many clips (EvalReport.maps, for a figure)


@dataclass
class EvalReport:
    rows: list[dict[str, Any]]
    notes: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    # per kept clip: {"clip": EvalClip, "names": [...], "paper"/"response": maps (None: undefined),
    # "paper_auc"/"response_auc": their structure AUCs}; the simulator first
    maps: list[dict[str, Any]] = field(default_factory=list)

    def value(self, method: str, key: str) -> float | None:
        for row in self.rows:
            if row["method"] == method:
                return row.get(key)
        raise KeyError(method)

    def to_markdown(self) -> str:
        head = "| method | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
        sep = "|---|" + "---:|" * len(COLUMNS)
        lines = [head, sep]
        for row in self.rows:
            cells = []
            for key, _, fmt in COLUMNS:
                v = row.get(key)
                cells.append("—" if key in row.get("skip", ()) else ("n/a" if v is None or not math.isfinite(v) else fmt.format(v)))
            lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
        info = ", ".join(f"{k}: {v}" for k, v in self.info.items())
        out = "\n".join(lines) + "\n"
        if info:
            out = f"{info}\n\n" + out
        if self.notes:
            out += "\n" + "\n".join(f"- {n}" for n in self.notes) + "\n"
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["method"] + [k for k, _, _ in COLUMNS] + ["n_clips"])
        for row in self.rows:
            vals = [row.get(k) for k, _, _ in COLUMNS]
            w.writerow([row["method"]] + ["" if v is None or not math.isfinite(v) else f"{v:.6g}" for v in vals]
                       + [row.get("n_clips", "")])
        return buf.getvalue()


def background_poke(clip: EvalClip) -> Poke | None:
    """A poke of the clip's magnitude on the background pixel farthest from the object (None if no background)."""
    import cv2

    if clip.parts is None:
        return None
    background = (clip.parts < 0).astype(np.uint8)
    if not background.any():
        return None
    dist = cv2.distanceTransform(background, cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Poke(float(x), float(y), clip.poke.dx, clip.poke.dy)


def _mean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


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
    unavailable = dict(unavailable or {})
    if lpips_model is None:
        unavailable.setdefault("lpips", "no LPIPS weights given (--lpips-vgg and --lpips-lin)")
    if i3d is None:
        unavailable.setdefault("fvd", "no I3D weights given (--i3d)")
    if len(clips) < 2:
        unavailable.setdefault("fvd", "FVD needs at least 2 clips")
    gt_clips = [c for c in clips if c.has_gt]
    if not gt_clips:
        unavailable.setdefault("motion_error_px", "the test set has no ground-truth motion (real videos)")
        unavailable.setdefault("structure_auc", "the test set has no part maps / kinematic trees (real videos)")
        unavailable.setdefault("structure_ring_auc", "the test set has no part maps / kinematic trees (real videos)")
        for key in PHYSICS_KEYS:
            unavailable.setdefault(key, "the test set has no part maps (real videos)")
    if simulator is None:
        for key in TRUTH_KEYS:
            unavailable.setdefault(key, "no simulator for this test set (not an `ipoke synth` data set)")
    sources = np.stack([c.source for c in clips])
    targets = np.stack([c.target for c in clips])
    pokes = [c.poke for c in clips]
    # heatmaps are expensive: score only clips where the score is defined (poke on a non-root part)
    structure_set = [c for c in gt_clips if structure_defined(c.parts, c.parents, (c.poke.x, c.poke.y))]
    structure_set = structure_set[: s.structure_clips]
    truth = simulator is not None and not all(k in unavailable for k in TRUTH_KEYS) and bool(structure_set)
    physics = not all(k in unavailable for k in PHYSICS_KEYS)
    steps_per_method = len(clips) + len(structure_set) * (1 + (truth or physics))
    total = steps_per_method * len(methods) + len(clips) + (len(structure_set) if truth else 0)
    done = 0
    t_start = time.perf_counter()

    # ground truth row: what tracking / flow estimation alone scores on the true clips
    real_feats = None
    gt_row: dict[str, Any] = {"method": "ground truth", "n_clips": len(clips),
                              "skip": {"lpips", "psnr", "ssim", "fvd", "structure_auc", "structure_ring_auc",
                                       "background_motion", *TRUTH_KEYS, *PHYSICS_KEYS}}
    acc, err, sharp = [], [], []
    for c in clips:
        check(cancel)
        sharp.append(sharpness_ratio(c.source, c.target[-1]))
        acc.append(poke_accuracy(c.source, c.target, c.poke))
        if c.has_gt:
            err.append(motion_error(c.source, c.target[-1], c.motion, c.parts >= 0))
        done += 1
        report(progress, done, total, "ground truth")
    gt_row["poke_accuracy_px"] = _mean(acc)
    gt_row["motion_error_px"] = _mean(err)
    gt_row["sharpness_pct"] = 100 * _mean(sharp) if _mean(sharp) is not None else None
    bg_pokes = [(i, background_poke(c)) for i, c in enumerate(clips)]
    bg_pokes = [(i, p) for i, p in bg_pokes if p is not None]
    if not bg_pokes:
        unavailable.setdefault("background_motion", "the test set has no object masks (real videos)")
    if "fvd" not in unavailable:
        real_feats = i3d.embed(targets, cancel=cancel)

    # the simulator's answer at each structure clip: the pokes every method is then given
    cases, truth_failures = [], []
    sim_row: dict[str, Any] = {"method": SIMULATOR, "n_clips": 0,
                               "skip": {k for k, _, _ in COLUMNS} - {"structure_auc", "structure_ring_auc",
                                                                      "response_ring_auc", *PHYSICS_KEYS}}
    if truth:
        lengths = at_resolution(s.truth_magnitude, clips[0].source.shape[0])
        sim = {k: [] for k in ("structure_auc", "structure_ring_auc", "response_ring_auc", *PHYSICS_KEYS)}
        for c in structure_set:
            check(cancel)
            loc = (c.poke.x, c.poke.y)
            try:
                pokes_c, motions_c = simulator.responses(c.clip_id, loc, s.heatmap_n, lengths,
                                                         np.random.default_rng(s.seed + c.index))
            except ValueError as e:  # a clip that does not rebuild, or pushes that cannot make the lengths
                truth_failures.append(f"clip {c.clip_id}: {e}")
            else:
                heat, response = true_heatmap(pokes_c, motions_c), response_or_none(motions_c, pokes_c)
                cases.append((c, pokes_c, heat, response))
                sim["structure_auc"].append(structure_score(heat, c.parts, c.parents, loc))
                sim["structure_ring_auc"].append(ring_structure_score(heat, c.parts, c.parents, loc))
                sim["response_ring_auc"].append(_ring_or_nan(response, c, loc))
                sim["drag_px"].append(drag(motions_c, pokes_c, c.parts))
                sim["rigidity_px"].append(rigidity(c.motion, c.parts))
            done += 1
            report(progress, done, total, "simulator")
        sim_row.update({k: _mean(v) for k, v in sim.items()}, n_clips=len(cases))
        total += len(methods) * len(cases)  # every method's maps of the simulator's pokes
        if not cases:
            for key in TRUTH_KEYS:
                unavailable.setdefault(key, f"the simulator scored no clip ({truth_failures[0]})")
    kept = [{"clip": c, "names": [SIMULATOR], "paper": [heat], "response": [resp],
             "paper_auc": [structure_score(heat, c.parts, c.parents, (c.poke.x, c.poke.y))],
             "response_auc": [_auc_or_nan(resp, c)]} for c, _, heat, resp in cases[: s.keep_maps]]

    rows = []
    for m in methods:
        check(cancel)
        videos = m.videos(sources, pokes)
        if videos.shape != targets.shape:
            raise EvalError(f"{m.name} made videos of shape {videos.shape[1:]}, the test clips are {targets.shape[1:]}")
        row: dict[str, Any] = {"method": m.name, "n_clips": len(clips)}
        row["psnr"] = float(psnr(videos, targets).mean(1).mean())
        row["ssim"] = float(ssim(videos, targets).mean(1).mean())
        if "lpips" not in unavailable:
            from ipoke_core.metrics.lpips import lpips_frames

            row["lpips"] = float(lpips_frames(lpips_model, videos, targets).mean(1).mean())
        if real_feats is not None:
            from ipoke_core.metrics.fvd import fvd_from_features

            row["fvd"] = fvd_from_features(real_feats, i3d.embed(videos, cancel=cancel))
        acc, err = [], []
        for c, v in zip(clips, videos):
            check(cancel)
            acc.append(poke_accuracy(c.source, v, c.poke))
            if c.has_gt:
                err.append(motion_error(c.source, v[-1], c.motion, c.parts >= 0))
            done += 1
            report(progress, done, total, m.name)
        row["poke_accuracy_px"] = _mean(acc)
        row["motion_error_px"] = _mean(err)
        sharp = [sharpness_ratio(c.source, v[-1]) for c, v in zip(clips, videos)]
        row["sharpness_pct"] = 100 * _mean(sharp) if _mean(sharp) is not None else None
        if bg_pokes:
            still = m.videos(sources[[i for i, _ in bg_pokes]], [p for _, p in bg_pokes])
            moved = np.abs(still[:, -1].astype(np.int16) - sources[[i for i, _ in bg_pokes]].astype(np.int16))
            row["background_motion"] = float(moved.mean())
        scores, ring_scores = [], []
        for c in structure_set:
            check(cancel)
            res = correlation_heatmap(lambda pk, c=c: m.generate(c.source, [[p] for p in pk]), c.source,
                                      (c.poke.x, c.poke.y), n=s.heatmap_n, magnitude_range=s.magnitude_range,
                                      batch_size=s.batch_size, seed=s.seed + c.index, cancel=cancel)
            scores.append(structure_score(res.heatmap, c.parts, c.parents, (c.poke.x, c.poke.y)))
            ring_scores.append(ring_structure_score(res.heatmap, c.parts, c.parents, (c.poke.x, c.poke.y)))
            done += 1
            report(progress, done, total, f"{m.name}: heatmaps")
        row["structure_auc"] = _mean(scores)
        row["structure_ring_auc"] = _mean(ring_scores)
        if cases:
            def tick(name: str = m.name) -> None:
                nonlocal done
                done += 1
                report(progress, done, total, f"{name}: against the simulator")

            row.update(_truth_scores(m, cases, s, kept, cancel, tick))
        if physics:
            drags, rigid = [], []
            for c in structure_set:
                check(cancel)
                pk = drag_pokes((c.poke.x, c.poke.y), c.source.shape[0])
                drags.append(drag(m.last_motion(c.source, pk), pk, c.parts))
                rigid.append(rigidity(m.last_motion(c.source, [c.poke])[0], c.parts))
                done += 1
                report(progress, done, total, f"{m.name}: drag, rigidity")
            row["drag_px"], row["rigidity_px"] = _mean(drags), _mean(rigid)
        elif truth:
            done += len(structure_set)
        rows.append(row)

    notes = [f"{k}: unavailable: {why}" for k, why in unavailable.items()]
    for key in unavailable:
        for row in rows:
            row[key] = None
    if cases:
        lo, hi = at_resolution(s.truth_magnitude, clips[0].source.shape[0])
        notes.append(f"truth corr. / truth diff.: correlation / mean |difference| over the object of each method's "
                     f"Fig.-5 map with the simulator's, {s.heatmap_n} pushes at the clip's poke scaled to pokes of "
                     f"{lo:.2f}-{hi:.2f} px, the same pokes for every method, {len(cases)} clips "
                     "(a method that never moves has no correlation: n/a)")
        notes.append("response, same distance: the same-distance AUC of the response map (how far each pixel moves "
                     "per pixel of poke) of those pokes; motion: the method's own where it has one, else DIS")
        notes.append(f"simulator row: the simulator's own maps of those pokes (its structure AUCs are of them, not of "
                     f"random {s.magnitude_range[0]:.2f}-{s.magnitude_range[1]:.2f} px pokes through DIS)")
        if truth_failures:
            notes.append(f"truth: {len(truth_failures)} clips not scored ({truth_failures[0]})")
    if physics and structure_set:
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
    if "fvd" not in unavailable and len(clips) < 400:
        notes.append(f"FVD over {len(clips)} clips (rank-deficient covariance): compare rows of this table only")
    notes.append("ground truth row: the true clips through the same DIS tracking/flow, i.e. the measurement floor")
    info = {"date": _dt.date.today().isoformat(), "clips": len(clips), "seed": s.seed,
            "elapsed_s": round(time.perf_counter() - t_start, 1)}
    extra = [sim_row] if cases else []
    return EvalReport(rows + extra + [gt_row], notes, info, kept)


def _ring_or_nan(heat_map: np.ndarray | None, clip: EvalClip, location: tuple[float, float]) -> float:
    """Same-distance AUC of a map; NaN for a response map that is undefined (pokes along one line)."""
    return float("nan") if heat_map is None else ring_structure_score(heat_map, clip.parts, clip.parents, location)


def _auc_or_nan(heat_map: np.ndarray | None, clip: EvalClip) -> float:
    loc = (clip.poke.x, clip.poke.y)
    return float("nan") if heat_map is None else structure_score(heat_map, clip.parts, clip.parents, loc)


def _truth_scores(m: Method, cases: list, s: EvalSettings, kept: list[dict[str, Any]],
                  cancel: CancelToken | None, tick: Callable[[], None]) -> dict[str, float | None]:
    """truth_corr, truth_diff, response_ring_auc of ``m`` given exactly the simulator's pokes of each case
    ``(clip, pokes, simulator's map, simulator's response map)``; appends its maps to ``kept``."""
    corr, diff, ring = [], [], []
    for i, (c, pokes, heat, _) in enumerate(cases):
        loc = (c.poke.x, c.poke.y)
        res = correlation_heatmap(None, c.source, loc, pokes=pokes, batch_size=s.batch_size, cancel=cancel,
                                  motion=lambda pk, c=c: m.last_motion(c.source, pk), keep_motions=True)
        response = response_or_none(res.motions, pokes)
        r, d = agreement(res.heatmap, heat, c.parts)
        corr.append(r)
        diff.append(d)
        ring.append(_ring_or_nan(response, c, loc))
        if i < len(kept):
            kept[i]["names"].append(m.name)
            kept[i]["paper"].append(res.heatmap)
            kept[i]["response"].append(response)
            kept[i]["paper_auc"].append(structure_score(res.heatmap, c.parts, c.parents, loc))
            kept[i]["response_auc"].append(_auc_or_nan(response, c))
        tick()
    return {"truth_corr": _mean(corr), "truth_diff": _mean(diff), "response_ring_auc": _mean(ring)}


def write_report(report_: EvalReport, out: Path, header: str = "") -> tuple[Path, Path]:
    """Write ``eval.md`` and ``eval.csv`` into ``out`` atomically; returns both paths."""
    from ipoke_core.io_utils import atomic_write_text, ensure_writable_dir

    ensure_writable_dir(out)
    md, csv_path = out / "eval.md", out / "eval.csv"
    atomic_write_text(md, (header + "\n\n" if header else "") + report_.to_markdown())
    atomic_write_text(csv_path, report_.to_csv())
    return md, csv_path


def _uint8(frames: Any) -> np.ndarray:
    """``(..., 3, R, R)`` tensor in [-1, 1] -> ``(..., R, R, 3) uint8``."""
    from ipoke_core.inference import to_uint8

    return to_uint8(frames)


def load_eval_clips(root: Path, cfg: Any, n_clips: int | None = None, seed: int = 0) -> tuple[list[EvalClip], str]:
    """The test split of a prepared data set as :class:`EvalClip` s for a model config ``cfg``.

    Clips are reduced to ``cfg.resolution`` by the dataset (a data set stored at a lower
    resolution than the model is refused), with ``cfg.seq_len`` target frames and foreground
    pokes only (a background poke has no target to reach). On synthetic data the poke is sampled
    from the true motion (``poke_source="ground_truth"``), so its target is where the object
    point truly went; on real videos from the cached DIS flow, as in the paper. ``n_clips`` test
    windows are chosen by a seeded permutation (all if None). Returns the clips and a one-line
    description of the data.
    """
    from ipoke_core.data import PokeDataset, read_dataset_meta

    root = Path(root)
    meta = read_dataset_meta(root)
    stored = int(meta.get("resolution", cfg.resolution))
    if stored < cfg.resolution:
        raise EvalError(f"the data set {root} is stored at {stored}x{stored}, the checkpoint works at "
                        f"{cfg.resolution}x{cfg.resolution}: upsampled test clips would not be a fair test; "
                        f"prepare the data at >= {cfg.resolution} px or evaluate a {stored}px checkpoint")
    has_gt = bool(meta.get("has_ground_truth"))
    ds = PokeDataset(root, split="test", resolution=cfg.resolution, seq_len=cfg.seq_len, background_fraction=0.0,
                     poke_mode=cfg.poke_mode, poke_radius=cfg.poke_radius, poke_scale=cfg.poke_scale, seed=seed,
                     train=False, poke_source="ground_truth" if has_gt else "flow")
    if len(ds) == 0:
        raise EvalError(f"the data set {root} has no test clips long enough for {cfg.seq_len} frames")
    order = np.random.default_rng(seed).permutation(len(ds))
    if n_clips:
        order = order[:n_clips]
    clips = []
    for i in sorted(int(k) for k in order):
        item = ds[i]
        x, y, dx, dy = (float(v) for v in item["poke"])
        clip = EvalClip(i, _uint8(item["source"]), _uint8(item["frames"]), Poke(x, y, dx, dy), clip_id=item["clip_id"])
        if has_gt:
            gt = ds.ground_truth(i)
            clip.motion = np.asarray(gt["motion"][-1], np.float32)
            clip.parts = np.asarray(gt["parts"]).astype(np.int64)
            clip.parents = np.asarray(gt["parents"]).astype(np.int64)
        clips.append(clip)
    gt_text = "with ground truth" if has_gt else "no ground truth"
    return clips, f"{meta.get('kind', '?')}, {stored}px stored, test split, {len(clips)} of {len(ds)} windows, {gt_text}"
