"""Correlation heatmaps (paper Sec. 4.2, Figure 5): which pixels move with a poke at one location.

For a fixed source image and poke location l, N pokes are drawn with uniformly random directions
and magnitudes uniform in ``magnitude_range``. For every generated video the motion of each pixel
is the DIS optical flow from the SOURCE (the model input, frame 0 of our videos) to the LAST
generated frame: the paper takes "the first and the last frame of the generated video", and
frame 0 is the only frame the model did not draw, so the flow measures the whole response to the
poke. Motion-first checkpoints output their own dense motion; for them the heatmap reads it
directly (``motion=``, :func:`poker_motion_fn`) instead of re-estimating it with DIS from drawn
frames: faster, and free of the flow estimator's errors. Per pixel, ``d_i = ||motion_i - poke_i||`` over the N videos gives an N-vector whose
(population) variance is ``variance``: low variance means the pixel's motion is tied to the poke.

Normalisation: ``heatmap = clip(1 - sqrt(variance / v_ref), 0, 1)`` where ``v_ref`` is the variance
of the N sampled poke magnitudes. Why: a pixel that follows a fixed fraction ``a`` in [0, 1] of the
poke (motion = a * poke) has ``d_i = (1 - a) |poke_i|`` and so variance ``(1 - a)^2 v_ref``; its
heatmap value is exactly ``a``: 1 for pixels moving rigidly with the poke, 0 for still pixels
and for pixels whose motion is less tied to the poke than a still one. The map is therefore
comparable across images, locations and models (unlike rank or median normalisation, which
always paint part of the image hot even when nothing moves). This needs magnitudes that vary:
with a single magnitude a still pixel and a rigidly following one both have variance 0, so the
range must have ``lo < hi``. The raw variance is kept alongside.

Beyond the paper: the map lights the pixels that move LIKE the poke, so a part turning about its
joint is dark beyond the poked point, where it moves farther than the poke. :func:`response_map`
reads the same pokes and motions (``keep_motions=True`` keeps them in the result) as how far
each pixel moves per pixel of poke: what moves BECAUSE of the poke.
"""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ipoke_core.errors import UserError
from ipoke_core.flow import make_dis
from ipoke_core.image import Framing
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, ProgressFn, check, report

if TYPE_CHECKING:
    from ipoke_core.inference import Poker

GenerateFn = Callable[[list[Poke]], np.ndarray]
MotionFn = Callable[[list[Poke]], np.ndarray]  # pokes -> (N, R, R, 2) motion of every source pixel
DEFAULT_MAGNITUDE_RANGE = (2.0, 8.0)  # model pixels at 64x64
# pokes per forward pass: the fastest of 16 / 32 / 64 on the CPU in both precisions (plants64, N = 64, 2 threads,
# 2026-12-08: fp32 527 / 489 / 552 ms, bf16 365 / 326 / 320 ms per location), and two progress steps at N = 64
DEFAULT_BATCH = 32
# a poked point that follows less than this share of the pokes does not move: its map says so instead
# of showing a blob (the heatmap's value at the point itself; 1 on anything the model moves)
STILL_POINT = 0.25


class HeatmapError(UserError, ValueError):
    """Bad heatmap input: location outside the image, too few pokes, bad magnitude range."""


@dataclass
class HeatmapResult:
    """A correlation heatmap for one poke location, all in model pixels.

    heatmap: ``(R, R) float32`` in [0, 1], 1 = moves with the poke (see module doc).
    variance: ``(R, R) float32``, the raw per-pixel variance of ``||motion - poke||`` (px^2).
    reference_variance: variance of the poke magnitudes; a still pixel has exactly this variance.
    """

    heatmap: np.ndarray
    variance: np.ndarray
    location: tuple[float, float]
    pokes: list[Poke]
    n: int
    elapsed_s: float
    reference_variance: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    source: np.ndarray | None = None  # (R, R, 3) uint8 model input the map belongs to
    framing: Framing | None = None  # set by heatmap_for_image: maps model px back to the user's image
    motions: np.ndarray | None = None  # (N, R, R, 2) float32 per-video motions, with keep_motions=True only

    @property
    def point_follows(self) -> float:
        """The share of the poke that the poked point itself follows: its own heatmap value, in [0, 1]."""
        h, w = self.heatmap.shape
        x = min(max(round(self.location[0]), 0), w - 1)
        y = min(max(round(self.location[1]), 0), h - 1)
        return float(self.heatmap[y, x])

    @property
    def point_moves(self) -> bool:
        """False when the poked point does not move with the pokes (``STILL_POINT``): the map is then
        not a map of anything, and the app and the CLI say so."""
        return self.point_follows >= STILL_POINT


def random_pokes(location: tuple[float, float], n: int, magnitude_range: tuple[float, float], seed: int = 0) -> list[Poke]:
    """``n`` pokes at ``location``: directions uniform on the circle, magnitudes uniform in the range."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2.0 * math.pi, n)
    mag = rng.uniform(magnitude_range[0], magnitude_range[1], n)
    x, y = location
    return [Poke(float(x), float(y), float(m * math.cos(a)), float(m * math.sin(a))) for a, m in zip(angle, mag)]


def distance_variance(flows: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
    """Per-pixel population variance over videos of ``||flow_i(p) - poke_i||``.

    Args:
        flows: ``(N, H, W, 2)`` motion of every pixel in each of the N videos.
    Returns:
        ``(H, W) float64``.
    """
    vec = np.array([[p.dx, p.dy] for p in pokes], np.float64).reshape(-1, 1, 1, 2)
    dist = np.linalg.norm(flows.astype(np.float64) - vec, axis=-1)
    return dist.var(axis=0)


def normalise_variance(variance: np.ndarray, reference_variance: float) -> np.ndarray:
    """``clip(1 - sqrt(variance / reference_variance), 0, 1)`` as float32 (see module doc)."""
    ratio = np.asarray(variance, np.float64) / max(reference_variance, 1e-12)
    return np.clip(1.0 - np.sqrt(ratio), 0.0, 1.0).astype(np.float32)


def response_map(motions: np.ndarray, pokes: Sequence[Poke]) -> np.ndarray:
    """How far each pixel moves per pixel of poke: the "moves because of the poke" map.

    Per pixel, the 2x2 matrix ``A`` that best maps the poke to the pixel's motion over the N
    videos (least squares, ``motion_i ~ A @ poke_i``); the map is ``clip(||A||_F / sqrt(2), 0, 1)``.
    A pixel carried rigidly with the poke (``A = I``) scores 1, as does one on a turning part
    beyond the poked point (it moves farther than the poke); pixels nearer the joint score their
    lever ratio, a parent swayed a little by the poke a little, a still pixel 0. Unlike the
    paper's variance map, a part that turns rather than translates stays lit along its length.

    Args:
        motions: ``(N, H, W, 2)`` motion of every pixel in each of the N videos.
        pokes: the N pokes (their ``dx, dy``); their directions must span the plane.
    Returns:
        ``(H, W) float32`` in [0, 1].
    """
    p = np.array([[q.dx, q.dy] for q in pokes], np.float64)  # (N, 2)
    gram = p.T @ p
    if len(pokes) < 2 or np.linalg.cond(gram) > 1e6:
        raise HeatmapError("a response map needs pokes in at least two directions")
    motions = np.asarray(motions, np.float64)
    m = motions.reshape(len(pokes), -1, 2)  # (N, HW, 2)
    a = np.einsum("nk,nhj->hjk", p, m) @ np.linalg.inv(gram)  # (HW, 2, 2): motion = a @ poke
    gain = np.sqrt((a ** 2).sum(axis=(1, 2)) / 2.0)
    return np.clip(gain, 0.0, 1.0).reshape(motions.shape[1:3]).astype(np.float32)


# a heatmap holds its N motion fields (float32) and, for the variance, their float64 copy and distances:
# 32 bytes per poke and model pixel. Refuse a set past this many bytes before the N pokes are even drawn
MAX_HEATMAP_BYTES = 4 * 2**30


def check_heatmap_size(n: int, height: int, width: int) -> None:
    """Raise :class:`HeatmapError` when ``n`` pokes on an ``height x width`` model image would need more
    than :data:`MAX_HEATMAP_BYTES` (``--n 100000000`` drew 10^8 pokes and reserved terabytes)."""
    need = n * height * width * 32
    if need > MAX_HEATMAP_BYTES:
        most = MAX_HEATMAP_BYTES // (height * width * 32)
        raise HeatmapError(f"{n} pokes per location would need {need / 2**30:.0f} GiB of motion fields at "
                           f"{width}x{height} (limit {MAX_HEATMAP_BYTES / 2**30:.0f} GiB): use at most {most}")


def _check_inputs(source: np.ndarray, location: tuple[float, float], n: int, magnitude_range: tuple[float, float]) -> None:
    if source.ndim != 3 or source.shape[2] != 3 or source.dtype != np.uint8:
        raise HeatmapError(f"source must be an (R, R, 3) uint8 image, got {source.dtype} {source.shape}")
    h, w = source.shape[:2]
    x, y = location
    if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= w - 1 and 0 <= y <= h - 1):
        raise HeatmapError(f"heatmap location ({x:g}, {y:g}) is outside the {w}x{h} model image "
                           f"(x in [0, {w - 1}], y in [0, {h - 1}])")
    if n < 2:
        raise HeatmapError(f"a heatmap needs at least 2 pokes to measure a variance, got n={n}")
    check_heatmap_size(n, h, w)
    lo, hi = magnitude_range
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise HeatmapError(f"poke magnitude range must satisfy 0 < lo < hi, got {lo:g},{hi:g} (with one magnitude "
                           "a still pixel and one moving rigidly with the poke cannot be told apart)")


def correlation_heatmap(
    generate: GenerateFn,
    source: np.ndarray,
    location: tuple[float, float],
    n: int = 64,
    magnitude_range: tuple[float, float] = DEFAULT_MAGNITUDE_RANGE,
    batch_size: int = DEFAULT_BATCH,
    seed: int = 0,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    motion: MotionFn | None = None,
    pokes: Sequence[Poke] | None = None,
    keep_motions: bool = False,
) -> HeatmapResult:
    """The Figure-5 correlation heatmap of poke location ``location`` (model px) on ``source``.

    Args:
        generate: pokes in model pixels -> ``(len(pokes), T, R, R, 3)`` uint8 videos, one per poke
            (frames 1..T; only the last is used, so T = 1 is enough); called once per batch of
            ``batch_size`` pokes. ``lambda pokes: poker.generate(source, [[p] for p in pokes])``
            works; :func:`poker_generate_fn` is the same, faster.
        source: ``(R, R, 3)`` uint8, the model input (frame 0).
        motion: optional, pokes -> ``(len(pokes), R, R, 2)`` float motion of every source pixel at
            the last frame (:func:`poker_motion_fn`); when given, ``generate`` is not called and no
            optical flow is computed.
        pokes: optional, the pokes to use (all at ``location``) instead of ``n`` random ones with
            lengths in ``magnitude_range``; e.g. to compare methods, or a method with a simulator,
            on exactly the same pokes.
        keep_motions: keep the N motion fields in the result (``motions``, for :func:`response_map`);
            off by default, since an app keeps every heatmap it shows (8 MB each at N=64, 128 px).
    Raises:
        HeatmapError: location outside the image, n < 2, bad magnitude range, a given poke
            elsewhere than ``location``.
        Cancelled: ``cancel`` was set (checked between batches).
    """
    if pokes is not None:
        pokes, n = list(pokes), len(pokes)
        if any(abs(p.x - location[0]) > 1e-6 or abs(p.y - location[1]) > 1e-6 for p in pokes):
            raise HeatmapError(f"every given poke must be at the heatmap location {location}")
    _check_inputs(source, location, n, magnitude_range)
    t_start = time.perf_counter()
    if pokes is None:
        pokes = random_pokes(location, n, magnitude_range, seed)
    dis = make_dis("medium", small=max(source.shape[:2]) <= 160)
    src_gray = cv2.cvtColor(source, cv2.COLOR_RGB2GRAY)
    flows = np.empty((n,) + source.shape[:2] + (2,), np.float32)
    t_gen = t_flow = 0.0
    report(progress, 0, n, "heatmap")
    for start in range(0, n, max(1, batch_size)):
        check(cancel)
        chunk = pokes[start:start + max(1, batch_size)]
        t0 = time.perf_counter()
        if motion is not None:
            moved = np.asarray(motion(chunk), np.float32)
            if moved.shape != (len(chunk),) + source.shape[:2] + (2,):
                raise ValueError(f"motion returned {moved.shape}, expected ({len(chunk)},) + {source.shape[:2]} + (2,)")
            flows[start:start + len(chunk)] = moved
            t_gen += time.perf_counter() - t0
            report(progress, start + len(chunk), n, "heatmap")
            continue
        videos = np.asarray(generate(chunk))
        t1 = time.perf_counter()
        if videos.ndim != 5 or videos.shape[0] != len(chunk) or videos.shape[2:] != source.shape:
            raise ValueError(f"generate returned {videos.shape}, expected ({len(chunk)}, T) + {source.shape}")
        for i, video in enumerate(videos):
            flows[start + i] = dis.calc(src_gray, cv2.cvtColor(video[-1], cv2.COLOR_RGB2GRAY), None)
        t_gen += t1 - t0
        t_flow += time.perf_counter() - t1
        report(progress, start + len(chunk), n, "heatmap")
    variance = distance_variance(flows, pokes)
    mags = np.array([p.magnitude for p in pokes])
    ref = float(mags.var())
    return HeatmapResult(
        heatmap=normalise_variance(variance, ref),
        variance=variance.astype(np.float32),
        location=(float(location[0]), float(location[1])),
        pokes=pokes,
        n=n,
        elapsed_s=time.perf_counter() - t_start,
        reference_variance=ref,
        timings={"generate_s": t_gen, "flow_s": t_flow},
        source=source,
        motions=flows if keep_motions else None,
    )


def last_frames(poker: Poker, source: np.ndarray, pokes: Sequence[Poke], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """Only the LAST generated frame for each poke: ``(N, 1, R, R, 3) uint8`` (pokes in model px).

    The heatmap needs nothing else, and decoding all T frames costs most of a forward pass, so
    the dynamics run for all T steps but only the final state is decoded. Equal to
    ``poker.generate(...)[:, -1:]`` (tested).
    """
    return poker.generate(source, [[p] for p in pokes], batch_size=batch_size, last_only=True)


def poker_generate_fn(poker: Poker, source: np.ndarray, batch_size: int = DEFAULT_BATCH) -> GenerateFn:
    """The production ``generate`` for heatmaps: last frames only (see :func:`last_frames`)."""
    return lambda pokes: last_frames(poker, source, pokes, batch_size)


def poker_motion_fn(poker: Poker, source: np.ndarray, batch_size: int = DEFAULT_BATCH) -> MotionFn | None:
    """The model's own last-frame motion for heatmaps (motion-first checkpoints), else None (DIS)."""
    if not poker.predicts_motion:
        return None
    return lambda pokes: poker.last_motion(source, pokes, batch_size)


def heatmap_for_image(
    poker: Poker,
    image: str | Path | np.ndarray,
    location_source_px: tuple[float, float],
    framing: Framing | None = None,
    letterbox: bool = False,
    source_size: tuple[int, int] | None = None,
    **kwargs: Any,
) -> HeatmapResult:
    """Heatmap for a location given in pixels of a user image of any size.

    The image is framed like ``poker.poke`` frames it; the location is mapped to model pixels. It is in
    the pixels of the user's full-size image even where ``load_image`` works on a reduced copy:
    ``source_size`` is that image's ``(width, height)`` when ``image`` is already such a reduced copy
    (default: the size of ``image`` itself, read from the file's header for a path).
    ``kwargs`` go to :func:`correlation_heatmap`; ``magnitude_range`` defaults to the checkpoint's
    training statistics. The result is in model pixels; ``result.source`` is the model input and
    ``result.framing`` maps back to the working copy (``framing.to_source``).
    """
    from ipoke_core.image import image_size
    from ipoke_core.inference import to_working

    w, h = source_size or image_size(image)
    source, framing = poker.prepare(image, framing, letterbox=letterbox)
    x, y = location_source_px
    inside = math.isfinite(x) and math.isfinite(y) and 0 <= x <= w - 1 and 0 <= y <= h - 1
    working = to_working(framing, (w, h), x, y) if inside else None
    if working is None or not framing.contains(*working):
        raise HeatmapError(f"heatmap location ({x:g}, {y:g}) is outside the {w}x{h} image or the model's crop")
    mx, my = framing.to_model(*working)
    r = source.shape[0] - 1
    loc = (min(max(mx, 0.0), r), min(max(my, 0.0), r))
    kwargs.setdefault("magnitude_range", poker.magnitude_range())
    batch = kwargs.get("batch_size", DEFAULT_BATCH)
    result = correlation_heatmap(poker_generate_fn(poker, source, batch), source, loc,
                                 motion=poker_motion_fn(poker, source, batch), **kwargs)
    result.framing = framing
    return result


def benchmark_heatmap(
    poker: Poker,
    image: np.ndarray | None = None,
    locations: Sequence[tuple[float, float]] | None = None,
    n: int = 64,
    batch_size: int = DEFAULT_BATCH,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Time whole heatmaps (generation + flow + statistics) on ``poker``; what ``ipoke bench --heatmap`` runs.

    ``image`` defaults to a fixed random texture at the model resolution, ``locations`` to the
    image centre. One warm-up heatmap is not timed. Returns medians and the single timings in seconds.
    """
    r = poker.resolution
    if image is None:
        image = np.random.default_rng(seed).integers(0, 256, (r, r, 3), dtype=np.uint8)
    source, _ = poker.prepare(image)
    locs = list(locations) if locations else [((r - 1) / 2, (r - 1) / 2)]
    rng = poker.magnitude_range()
    gen = poker_generate_fn(poker, source, batch_size)
    mot = poker_motion_fn(poker, source, batch_size)
    correlation_heatmap(gen, source, locs[0], n=max(2, min(n, batch_size)), magnitude_range=rng, motion=mot,
                        batch_size=batch_size)  # warm-up: allocator, threads, first-call overheads
    totals, gens, flows = [], [], []
    for i in range(max(1, repeats)):
        for loc in locs:
            res = correlation_heatmap(gen, source, loc, n=n, magnitude_range=rng, batch_size=batch_size, seed=seed + i,
                                      motion=mot)
            totals.append(res.elapsed_s)
            gens.append(res.timings["generate_s"])
            flows.append(res.timings["flow_s"])
    return {
        "median_s": statistics.median(totals),
        "generate_median_s": statistics.median(gens),
        "flow_median_s": statistics.median(flows),
        "times_s": totals,
        "n": n,
        "batch_size": batch_size,
        "resolution": r,
        "magnitude_range": rng,
        "device": str(poker.device),
    }


# drawing the heatmaps (overlay, Figure-5 grid, colormaps) is ``ipoke_core.analysis.render``'s
__all__ = [
    "HeatmapError", "HeatmapResult", "benchmark_heatmap", "correlation_heatmap", "distance_variance",
    "heatmap_for_image", "last_frames", "normalise_variance", "poker_generate_fn", "poker_motion_fn", "random_pokes",
]
