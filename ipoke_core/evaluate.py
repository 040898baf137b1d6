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

from ipoke_core.analysis.baselines import flow_warp_videos, static_video
from ipoke_core.analysis.heatmap import correlation_heatmap
from ipoke_core.analysis.structure import ring_structure_score, structure_defined, structure_score
from ipoke_core.errors import UserError
from ipoke_core.metrics.motion_error import motion_error
from ipoke_core.metrics.poke_accuracy import poke_accuracy
from ipoke_core.metrics.psnr import psnr
from ipoke_core.metrics.sharpness import sharpness_ratio
from ipoke_core.metrics.ssim import ssim
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, ProgressFn, check, report

GenerateFn = Callable[[np.ndarray, Sequence[Sequence[Poke]]], np.ndarray]
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
]


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
    """

    name: str
    generate: GenerateFn
    generate_clips: Callable[[np.ndarray, Sequence[Poke]], np.ndarray] | None = None

    def videos(self, sources: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
        if self.generate_clips is not None:
            return self.generate_clips(sources, pokes)
        return np.concatenate([self.generate(s, [[p]]) for s, p in zip(sources, pokes)])


def static_method(seq_len: int) -> Method:
    """The source repeated: a model that ignores the poke."""
    return Method("static (source repeated)", lambda src, pokes: static_video(src, pokes, seq_len))


def flow_warp_method(seq_len: int, sigma: float | None = None) -> Method:
    """Warp the source along the poke spread by a Gaussian falloff, linearly in time (Hao et al. in spirit)."""
    return Method("flow warping (Hao-style)", lambda src, pokes: flow_warp_videos(src, pokes, seq_len, sigma))


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

    return Method(name, lambda src, pk: poker.generate(src, pk, batch_size=batch_size), generate_clips)


@dataclass
class EvalSettings:
    seed: int = 0
    heatmap_n: int = 16  # pokes per structure heatmap (the figures use 64; 16 keeps eval affordable)
    structure_clips: int = 8
    magnitude_range: tuple[float, float] = (2.0, 8.0)  # model px, for the structure heatmaps
    batch_size: int = 16


@dataclass
class EvalReport:
    rows: list[dict[str, Any]]
    notes: list[str]
    info: dict[str, Any] = field(default_factory=dict)

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
) -> EvalReport:
    """Score every method on every clip (see module doc).

    Args:
        lpips_model: a ``metrics.lpips.LPIPS`` or None; i3d: a ``metrics.fvd.I3DEmbedder`` or None.
        unavailable: reason per metric key for those that cannot be computed (e.g. missing weights).
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
    sources = np.stack([c.source for c in clips])
    targets = np.stack([c.target for c in clips])
    pokes = [c.poke for c in clips]
    # heatmaps are expensive: score only clips where the score is defined (poke on a non-root part)
    structure_set = [c for c in gt_clips if structure_defined(c.parts, c.parents, (c.poke.x, c.poke.y))]
    structure_set = structure_set[: s.structure_clips]
    steps_per_method = len(clips) + len(structure_set)
    total = steps_per_method * len(methods) + len(clips)
    done = 0
    t_start = time.perf_counter()

    # ground truth row: what tracking / flow estimation alone scores on the true clips
    real_feats = None
    gt_row: dict[str, Any] = {"method": "ground truth", "n_clips": len(clips),
                              "skip": {"lpips", "psnr", "ssim", "fvd", "structure_auc", "structure_ring_auc",
                                       "background_motion"}}
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
        rows.append(row)

    notes = [f"{k}: unavailable: {why}" for k, why in unavailable.items()]
    for key in unavailable:
        for row in rows:
            row[key] = None
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
    return EvalReport(rows + [gt_row], notes, info)


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
