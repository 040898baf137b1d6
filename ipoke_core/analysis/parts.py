"""The model's own parts: what moves together under a grid of pokes belongs together.

A grid of locations over the model's input is poked, every ``grid`` model pixels, in
``directions`` directions of one length. The model's own last-frame motion gives, for every
pixel, its *response*: its motion under each poke divided by the poke's length (``(P, 2)`` per
pixel, P pokes). Pixels that move together have proportional responses, whether they sit near
the poke or far out on a turning part, so the responses are compared by direction (each pixel's
vector is scaled to unit length) and clustered with k-means; k is the one of ``2 .. max_parts``
with the best silhouette on a sample of pixels (one part when no k separates the pixels).
Pixels that move less than ``still_threshold`` px per px of poke under every poke are "still"
(label -1).

A checkpoint that moves by parts (``model.part_masks``) has its own decomposition: then the labels
are its masks (each pixel's most likely part), the grid of pokes only tells which parts move (a
part none of whose pixels moves ``still_threshold`` under any poke is still), and no clustering
is needed.

Only grid points whose poke moves the poked point itself are poked in every direction: a first
pass pokes every grid point once; a point the model leaves in place (background, by the model's
own reading) costs one poke, not ``directions``. The pokes run in batches through
``Poker.last_motion`` (motion-first checkpoints: no frames are drawn).

    res = parts_for_image(poker, "plant.png")
    res.labels            # (R, R) int64, -1 = still, 0 .. n_parts - 1 by size
    labels_in_image(res)  # the same in the pixels of the user's (working) image
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ipoke_core.errors import UserError
from ipoke_core.image import Framing
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, ProgressFn, check, report

if TYPE_CHECKING:
    from ipoke_core.inference import Poker

MotionFn = Callable[[list[Poke]], np.ndarray]  # pokes -> (N, R, R, 2) last-frame motion of every source pixel

DEFAULT_GRID = 8  # model px between grid points: 64 points at 64 px
DEFAULT_DIRECTIONS = 4
DEFAULT_STILL = 0.15  # px of motion per px of poke below which a pixel is still under every poke
# a grid point is poked in every direction only if its own pixel follows its first poke this much
DEFAULT_MIN_FOLLOW = 0.25
DEFAULT_MAX_PARTS = 8
SILHOUETTE_SAMPLE = 1500  # pixels the silhouette of each k is measured on
MIN_SILHOUETTE = 0.12  # below it no k separates the pixels: one part


class PartsError(UserError, ValueError):
    """Bad parts input: a model without motion output, a bad grid, an odd source image."""


@dataclass
class PartsResult:
    """The model's decomposition of its input into moving parts, in model pixels.

    labels: ``(R, R) int64``, -1 = still, parts 0 .. n_parts - 1 ordered by size (largest first).
    responses: ``(n_parts, P, 2) float32``, each part's mean motion per px of poke under each poke.
    pokes: the P pokes (model px) whose motion the labels come from.
    points: the grid points that were poked (first pass; the kept ones got every direction).
    """

    labels: np.ndarray
    responses: np.ndarray
    pokes: list[Poke]
    points: list[tuple[float, float]]
    silhouette: float
    elapsed_s: float
    timings: dict[str, float] = field(default_factory=dict)
    source: np.ndarray | None = None  # (R, R, 3) uint8 model input the labels belong to
    framing: Framing | None = None  # set by parts_for_image: maps model px back to the user's image

    @property
    def n_parts(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    def part_at(self, x: float, y: float) -> int:
        """The label at model pixel ``(x, y)`` (nearest pixel; -1 outside or still)."""
        r = self.labels.shape[0]
        i, j = int(round(y)), int(round(x))
        return int(self.labels[i, j]) if 0 <= i < r and 0 <= j < r else -1

    def centre(self, part: int) -> tuple[float, float]:
        """A model pixel inside ``part`` near its middle (the pixel of the part nearest its centroid)."""
        ys, xs = np.nonzero(self.labels == part)
        if xs.size == 0:
            raise PartsError(f"there is no part {part}")
        k = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))
        return float(xs[k]), float(ys[k])


def grid_points(resolution: int, grid: int) -> list[tuple[float, float]]:
    """Model pixels every ``grid`` px, the first half a step in from the border."""
    if not 1 <= grid <= resolution:
        raise PartsError(f"the grid step must be between 1 and {resolution} model px, got {grid}")
    start = (grid - 1) / 2.0
    coords = np.arange(start, resolution - 0.5, grid)
    return [(float(x), float(y)) for y in coords for x in coords]


def direction_pokes(point: tuple[float, float], directions: int, length: float, first: int = 0) -> list[Poke]:
    """Pokes at ``point`` in directions ``first .. directions - 1`` of ``directions`` evenly spaced ones."""
    x, y = point
    angles = [2.0 * math.pi * k / directions for k in range(first, directions)]
    return [Poke(x, y, length * math.cos(a), length * math.sin(a)) for a in angles]


def _motion_batched(motion: MotionFn, pokes: list[Poke], batch_size: int, r: int, progress: ProgressFn | None,
                    cancel: CancelToken | None, done: int, total: int) -> np.ndarray:
    out = np.empty((len(pokes), r, r, 2), np.float32)
    for start in range(0, len(pokes), batch_size):
        check(cancel)
        chunk = pokes[start:start + batch_size]
        moved = np.asarray(motion(chunk), np.float32)
        if moved.shape != (len(chunk), r, r, 2):
            raise ValueError(f"motion returned {moved.shape}, expected ({len(chunk)}, {r}, {r}, 2)")
        out[start:start + len(chunk)] = moved
        report(progress, done + start + len(chunk), total, "parts")
    return out


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of ``x (N, D)`` under ``labels (N,)`` (euclidean); -1 with fewer than 2 clusters."""
    ks = np.unique(labels)
    if ks.size < 2:
        return -1.0
    x = np.asarray(x, np.float64)
    sq = (x * x).sum(1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0))  # (N, N), no (N, N, D) temporary
    mean_to = np.stack([d[:, labels == k].mean(1) for k in ks], 1)  # (N, K) mean distance to each cluster
    sizes = np.array([(labels == k).sum() for k in ks])
    own = np.searchsorted(ks, labels)
    n_own = sizes[own]
    # a = mean distance to the others of the own cluster (self excluded)
    a = mean_to[np.arange(len(x)), own] * n_own / np.maximum(n_own - 1, 1)
    mean_to[np.arange(len(x)), own] = np.inf
    b = mean_to.min(1)
    s = np.where(n_own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def kmeans(x: np.ndarray, k: int, seed: int = 0, attempts: int = 3) -> np.ndarray:
    """k-means (OpenCV, k-means++ seeding) of ``x (N, D)``: ``(N,) int64`` labels."""
    cv2.setRNGSeed(seed)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    _, labels, _ = cv2.kmeans(np.ascontiguousarray(x, np.float32), k, None, crit, attempts, cv2.KMEANS_PP_CENTERS)
    return labels.ravel().astype(np.int64)


def cluster_features(x: np.ndarray, max_parts: int = DEFAULT_MAX_PARTS, seed: int = 0,
                     k: int | None = None) -> tuple[np.ndarray, float]:
    """Cluster the rows of ``x (N, D)``: ``(labels (N,) int64, silhouette)``.

    ``k`` fixed, or chosen in ``2 .. max_parts`` by the silhouette on a sample of rows; one
    cluster when the best silhouette is below ``MIN_SILHOUETTE`` or there are too few rows.
    """
    n = len(x)
    if k is not None:
        k = max(1, min(k, n))
        return (kmeans(x, k, seed) if k > 1 else np.zeros(n, np.int64)), float("nan")
    if n < 8:
        return np.zeros(n, np.int64), float("nan")
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, min(n, SILHOUETTE_SAMPLE), replace=False)
    best, best_s = np.zeros(n, np.int64), -1.0
    for kk in range(2, min(max_parts, n - 1) + 1):
        labels = kmeans(x, kk, seed)
        s = _silhouette(x[sample], labels[sample])
        if s > best_s:
            best, best_s = labels, s
    if best_s < MIN_SILHOUETTE:
        return np.zeros(n, np.int64), best_s
    return best, best_s


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel ``labels`` (-1 kept) so that part 0 is the largest, part 1 the next, ..."""
    out = np.full_like(labels, -1)
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    for new, old in enumerate(ids[np.argsort(-counts, kind="stable")]):
        out[labels == old] = new
    return out


def _responses(motions: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
    """``(P, R, R, 2) float32``: each pixel's motion under each poke per px of that poke's length."""
    lengths = np.array([max(p.magnitude, 1e-6) for p in pokes], np.float32)
    return np.asarray(motions, np.float32) / lengths[:, None, None, None]


def _part_responses(resp: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(n_parts, P, 2) float32``: each part's mean response to each poke (``labels`` by size, -1 still)."""
    p, r = resp.shape[0], resp.shape[1]
    feat = resp.transpose(1, 2, 0, 3).reshape(r * r, p * 2)
    n = int(labels.max()) + 1
    if not n:
        return np.zeros((0, p, 2), np.float32)
    return np.stack([feat[labels.ravel() == i].mean(0).reshape(p, 2) for i in range(n)]).astype(np.float32)


def parts_from_motions(motions: np.ndarray, pokes: Sequence[Poke], still_threshold: float = DEFAULT_STILL,
                       max_parts: int = DEFAULT_MAX_PARTS, seed: int = 0,
                       k: int | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Cluster pixels by their responses to ``pokes``.

    Args:
        motions: ``(P, R, R, 2)`` each pixel's motion under each poke (model px).
        pokes: the P pokes (their lengths normalise the motions).
        k: a fixed number of parts instead of the silhouette's choice.
    Returns:
        ``(labels (R, R) int64 (-1 still, parts by size), responses (n_parts, P, 2) float32, silhouette)``.
    """
    resp = _responses(motions, pokes)
    p, r = resp.shape[0], resp.shape[1]
    feat = resp.transpose(1, 2, 0, 3).reshape(r * r, p * 2)  # (R*R, 2P)
    moving = np.linalg.norm(resp, axis=-1).max(0).ravel() >= still_threshold  # (R*R,)
    labels = np.full(r * r, -1, np.int64)
    silhouette = float("nan")
    if moving.any():
        x = feat[moving]
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)  # compare by direction: moves *together*
        labels[moving], silhouette = cluster_features(x, max_parts, seed, k)
    labels = _by_size(labels.reshape(r, r))
    return labels, _part_responses(resp, labels), silhouette


def parts_from_masks(masks: np.ndarray, motions: np.ndarray, pokes: Sequence[Poke],
                     still_threshold: float = DEFAULT_STILL) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels from the model's own ``masks (K, R, R)``: each pixel's most likely part; a part none of
    whose pixels moves ``still_threshold`` px per px of poke under any of the ``motions (P, R, R, 2)``
    is still (-1). Same returns as :func:`parts_from_motions` (the silhouette is NaN: nothing was clustered)."""
    resp = _responses(motions, pokes)
    r = resp.shape[1]
    moving = np.linalg.norm(resp, axis=-1).max(0)  # (R, R)
    part = np.asarray(masks).argmax(0)
    labels = np.full((r, r), -1, np.int64)
    for k in np.unique(part):
        on = part == k
        if moving[on].max() >= still_threshold:
            labels[on] = k
    labels = _by_size(labels)
    return labels, _part_responses(resp, labels), float("nan")


def model_parts(
    motion: MotionFn,
    source: np.ndarray,
    grid: int = DEFAULT_GRID,
    directions: int = DEFAULT_DIRECTIONS,
    length: float = 3.0,
    batch_size: int = 32,
    still_threshold: float = DEFAULT_STILL,
    min_follow: float = DEFAULT_MIN_FOLLOW,
    max_parts: int = DEFAULT_MAX_PARTS,
    seed: int = 0,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    masks: np.ndarray | None = None,
) -> PartsResult:
    """The parts of ``source (R, R, 3) uint8`` as the model ``motion`` moves them (see the module doc).

    Args:
        motion: pokes (model px) -> ``(N, R, R, 2)`` last-frame motion (``Poker.last_motion``).
        grid: model px between poked points; directions: pokes per kept point; length: poke length (model px).
        masks: the model's own part masks ``(K, R, R)`` (``Poker.part_masks``): the labels, instead of clustering.
    Raises:
        PartsError: bad source, grid, directions or length. Cancelled: ``cancel`` was set.
    """
    if source.ndim != 3 or source.shape[2] != 3 or source.dtype != np.uint8 or source.shape[0] != source.shape[1]:
        raise PartsError(f"source must be an (R, R, 3) uint8 image, got {source.dtype} {source.shape}")
    if directions < 2:
        raise PartsError(f"parts need pokes in at least 2 directions, got {directions}")
    if not (math.isfinite(length) and length > 0):
        raise PartsError(f"the poke length must be a positive number of model px, got {length}")
    t0 = time.perf_counter()
    r = source.shape[0]
    batch_size = max(1, batch_size)
    points = grid_points(r, grid)
    total = len(points) * directions  # the most pokes; the bar ends early when points are skipped
    report(progress, 0, total, "parts")
    first = [direction_pokes(pt, directions, length)[0] for pt in points]
    m1 = _motion_batched(motion, first, batch_size, r, progress, cancel, 0, total)
    # keep the points whose own pixel follows the poke: the model reads them as something that moves
    follow = np.array([np.hypot(*m1[i, min(int(round(pt[1])), r - 1), min(int(round(pt[0])), r - 1)]) / length
                       for i, pt in enumerate(points)])
    kept = np.flatnonzero(follow >= min_follow)
    rest = [q for i in kept for q in direction_pokes(points[i], directions, length, first=1)]
    m2 = _motion_batched(motion, rest, batch_size, r, progress, cancel, len(first), len(first) + len(rest))
    t_motion = time.perf_counter() - t0
    pokes = [first[i] for i in kept] + rest
    motions = np.concatenate([m1[kept], m2]) if len(kept) else np.zeros((0, r, r, 2), np.float32)
    check(cancel)
    t1 = time.perf_counter()
    if len(pokes) and masks is not None:
        labels, responses, sil = parts_from_masks(masks, motions, pokes, still_threshold)
    elif len(pokes):
        labels, responses, sil = parts_from_motions(motions, pokes, still_threshold, max_parts, seed)
    else:  # the model moves nothing anywhere: all still
        labels, responses, sil = np.full((r, r), -1, np.int64), np.zeros((0, 0, 2), np.float32), float("nan")
    report(progress, total, total, "parts")
    return PartsResult(labels, responses, pokes, points, sil, time.perf_counter() - t0,
                       {"motion_s": t_motion, "cluster_s": time.perf_counter() - t1, "pokes": float(len(first) + len(rest))},
                       source=source)


def default_length(poker: Poker) -> float:
    """The poke length of the parts grid: three quarters of the longest training poke (model px)."""
    return 0.75 * poker.magnitude_range()[1]


def parts_for_image(poker: Poker, image: str | Path | np.ndarray, framing: Framing | None = None,
                    letterbox: bool = False, **kwargs: Any) -> PartsResult:
    """Parts of a user image of any size, framed like ``poker.poke`` frames it.

    ``kwargs`` go to :func:`model_parts` (``length`` defaults to :func:`default_length`,
    ``batch_size`` to 32). ``result.framing`` maps model pixels back to the working copy.
    """
    if not poker.predicts_motion:
        raise PartsError("this checkpoint (pixel decoder) predicts no motion of its own; parts need a "
                         "motion-first checkpoint (the bundled plants64 / figures64 are)")
    source, framing = poker.prepare(image, framing, letterbox=letterbox)
    kwargs.setdefault("length", default_length(poker))
    batch = kwargs.setdefault("batch_size", 32)
    if poker.has_part_masks:
        kwargs.setdefault("masks", poker.part_masks(source))
    result = model_parts(lambda pokes: poker.last_motion(source, pokes, batch), source, **kwargs)
    result.framing = framing
    return result


def labels_in_image(result: PartsResult, framing: Framing | None = None) -> np.ndarray:
    """The labels in the pixels of the working image ``framing`` was made for: ``(H, W) int64``,
    nearest model pixel, -1 outside the model's square (and where still)."""
    framing = framing or result.framing
    if framing is None:
        raise PartsError("these parts carry no framing: compute them with parts_for_image or pass one")
    r = result.labels.shape[0]
    ys, xs = np.mgrid[0:framing.height, 0:framing.width].astype(np.float64)
    mx, my = framing.to_model(xs, ys)
    j, i = np.rint(mx).astype(np.int64), np.rint(my).astype(np.int64)
    inside = (i >= 0) & (i < r) & (j >= 0) & (j < r)
    out = np.full((framing.height, framing.width), -1, np.int64)
    out[inside] = result.labels[i[inside], j[inside]]
    return out


__all__ = [
    "PartsError", "PartsResult", "cluster_features", "default_length", "direction_pokes", "grid_points", "kmeans",
    "labels_in_image", "model_parts", "parts_for_image", "parts_from_masks", "parts_from_motions",
]
