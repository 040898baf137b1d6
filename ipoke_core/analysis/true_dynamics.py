"""The simulator as the reference: the true Fig.-5 maps, drag and rigidity of synthetic clips.

A synthetic clip is a pure function of (kind, seed, index), so its object can be rebuilt exactly
(``data.synthetic.clip.posed_object``) and pushed again with the physics that made the data set.
At a location l, :func:`true_responses` pushes the point at l N times, in uniformly random
directions, held as long as the clip's own push; each poke is what the physics made of it (the
point's displacement after the window) and each motion is where every frame-0 pixel went. The
Fig.-5 heatmap of those pokes and motions (:func:`true_heatmap`) is what a model that had learnt
the data's dynamics exactly would show. Pushes, not displacements, because the physics cannot
make every displacement: a point of a rigid part moves along the part only when the joints above
it turn. To compare a method with the simulator, each push is scaled until its poke has a length
from a fixed range, and the method is then given exactly those pokes (``ipoke eval``'s truth
columns).

Two physical scores need no simulator, only the true part map:
- :func:`drag`: how much the background beside a poke moves (the simulator: 0);
- :func:`rigidity`: the residual of the best affine fit to a motion field over each true part
  (the simulator's parts are rigid: about 0).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ipoke_core.analysis.heatmap import HeatmapError, distance_variance, normalise_variance, response_map
from ipoke_core.analysis.render import caption, colorize
from ipoke_core.analysis.structure import poked_part, subtree
from ipoke_core.poke import Poke

if TYPE_CHECKING:
    from ipoke_core.data.synthetic.body import Body

FORCE_RANGE = (0.25, 1.5)  # push strengths, as multiples of the clip's own
LENGTH_STEPS = 10  # rescalings of a push towards a wanted poke length
TRUTH_MAGNITUDE = (1.0, 4.0)  # poke lengths of the truth comparison, model px at 64 px: inside both bundled
# checkpoints' training ranges (plants64 0.10-4.15 px, figures64 0.12-7.00 px), one range for every method
DRAG_POKE_PX = 2.0  # drag: poke length at 64 px ...
DRAG_RING_PX = (2.0, 10.0)  # ... and the background ring around it (distances from the poke, at 64 px)
DRAG_DIRECTIONS = 8
RIGID_MIN_PIXELS = 6  # parts with fewer pixels have no meaningful affine fit


class TruthUnavailable(ValueError):
    """The data set cannot be rebuilt by the simulator (real videos, another size or window); the reason."""


def at_resolution(lengths: tuple[float, float], resolution: int) -> tuple[float, float]:
    """Lengths given at 64 px, in model px at ``resolution``."""
    s = resolution / 64.0
    return lengths[0] * s, lengths[1] * s


def true_responses(kind: str, seed: int, index: int, parts: np.ndarray, location: tuple[float, float], span: int,
                   fps: float, duration: float, force_scale: float, n: int = 16,
                   rng: np.random.Generator | None = None,
                   lengths: tuple[float, float] | None = None, pushes: int = 1,
                   props: int = 0, unseen: np.random.Generator | None = None,
                   directions: str = "across") -> tuple[list[Poke], np.ndarray]:
    """N random pushes at ``location`` of clip ``index``: the pokes they make and ``(N, S, S, 2) float32`` motions.

    ``parts (S, S)`` is the clip's stored part map (S = stored size; ``location`` is in its pixels);
    it is checked against the rebuilt object. Poke i is the pushed point's displacement after
    ``span`` frames; motion i is where every frame-0 object pixel is then (zero on the background).
    With ``force_scale`` the clip's own force and a push along it, this is the clip's own motion.
    ``lengths (lo, hi)``: scale each push (keeping its direction) so that its poke is about a length
    drawn uniformly from the range; a push that cannot make a length within 10 % of the range is
    replaced by another. ``pushes``, ``props``, ``directions``: the data set's clips per object, props
    per backdrop and push directions (``dataset.json``). ``unseen``: draw what the frames do not show
    (the joints' springs, how long the push is held) anew from the generator's distributions, for the
    same posed object: the clip as another draw of its physics would have made it. Raises ValueError
    when the clip does not rebuild to ``parts``, ``location`` is off the object, or too few pushes make
    the asked lengths.
    """
    from ipoke_core.data.synthetic.clip import object_motion, posed_object
    from ipoke_core.data.synthetic.physics import PokeForce, simulate

    size = parts.shape[0]
    obj = posed_object(kind, seed, index, size, pushes, props, directions)
    if not np.array_equal(obj.labels.astype(np.int32) - 1, np.asarray(parts, np.int32)):
        raise ValueError(f"clip {index} of {kind} seed {seed} does not rebuild to its stored part map "
                         "(made by another generator version?)")
    part = poked_part(parts, location)
    if part < 0:
        raise ValueError(f"location {location} is not on the object")
    body = obj.body
    if unseen is not None:
        body, duration = redraw_unseen(kind, body, unseen)
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


def redraw_unseen(kind: str, body: Body, rng: np.random.Generator) -> tuple[Body, float]:
    """A copy of ``body`` with its joints' springs drawn anew, and a push duration (s), both from the
    generator's own distributions: the physics that an image of the object does not show."""
    import copy

    from ipoke_core.data.synthetic import figure, plant
    from ipoke_core.data.synthetic.clip import PUSH_SECONDS

    body = copy.deepcopy(body)
    (plant if kind == "plant" else figure).draw_dynamics(rng, body)
    return body, float(rng.uniform(*PUSH_SECONDS))


def true_heatmap(pokes: list[Poke], motions: np.ndarray) -> np.ndarray:
    """The Fig.-5 heatmap ``(S, S) float32`` of the physics' own pokes and ``(N, S, S, 2)`` motions."""
    return normalise_variance(distance_variance(motions, pokes), float(np.var([p.magnitude for p in pokes])))


def response_or_none(motions: np.ndarray, pokes: list[Poke]) -> np.ndarray | None:
    """The response map (``analysis.heatmap.response_map``), or None where the pokes keep to one line."""
    try:
        return response_map(motions, pokes)
    except HeatmapError:
        return None


class Simulator:
    """The physics of a synthetic data set, to push its clips again (see module doc)."""

    def __init__(self, root: str | Path, meta: dict[str, Any], span: int):
        self.root, self.meta, self.span = Path(root), meta, int(span)

    @classmethod
    def from_dataset(cls, root: str | Path, resolution: int, span: int) -> Simulator:
        """The simulator of the data set at ``root`` for a model at ``resolution`` px predicting ``span`` frames.

        Raises TruthUnavailable (with the reason) for real videos, a data set stored at another size
        than the model's (the part maps and motions would need resampling) or windows that do not
        start at frame 0.
        """
        from ipoke_core.data import read_dataset_meta

        meta = read_dataset_meta(root)
        if not meta.get("has_ground_truth") or meta.get("kind") not in ("plant", "figure"):
            raise TruthUnavailable("the test set has no simulator (real videos)")
        if int(meta["resolution"]) != resolution:
            raise TruthUnavailable(f"the test set is stored at {meta['resolution']} px, the model works at "
                                   f"{resolution} px: the simulator rebuilds clips at their stored size")
        if meta.get("window_starts", "first") != "first":
            raise TruthUnavailable(f"the test windows start at {meta['window_starts']!r} frames, the simulator "
                                   "pushes from frame 0")
        return cls(root, meta, span)

    def responses(self, clip_id: str, location: tuple[float, float], n: int, lengths: tuple[float, float],
                  rng: np.random.Generator,
                  unseen: np.random.Generator | None = None) -> tuple[list[Poke], np.ndarray]:
        """:func:`true_responses` at ``location`` of the stored clip ``clip_id``, its push held as long as the
        clip's (or, with ``unseen``, another draw of the physics the frames do not show) and as strong as
        the clip's: ``(pokes, motions (N, R, R, 2) float32)``."""
        from ipoke_core.data.layout import GT, clip_dir

        with np.load(clip_dir(self.root, clip_id) / GT) as z:
            duration, force, parts = float(z["poke_duration"]), z["poke"][2:4], z["parts"]
        m = self.meta
        return true_responses(m["kind"], int(m["seed"]), int(clip_id), parts, location, self.span, float(m["fps"]),
                              duration, float(np.hypot(*force)), n, rng, lengths, int(m.get("pushes", 1)),
                              int(m.get("props", 0)), unseen, m.get("push_directions", "across"))


def drag_pokes(location: tuple[float, float], resolution: int) -> list[Poke]:
    """The drag test's pokes: 2 px (at 64 px, scaled to ``resolution``) in 8 directions at ``location``."""
    length = DRAG_POKE_PX * resolution / 64.0
    angles = 2 * np.pi * np.arange(DRAG_DIRECTIONS) / DRAG_DIRECTIONS
    return [Poke(float(location[0]), float(location[1]), float(length * np.cos(a)), float(length * np.sin(a)))
            for a in angles]


def drag(motions: np.ndarray, pokes: list[Poke], parts: np.ndarray) -> float:
    """Mean motion of the background pixels 2-10 px (at 64 px) from the poke, per 2 px of poke.

    Args:
        motions: ``(N, R, R, 2)`` forward motion of every source pixel, one per poke (model px).
        pokes: the N pokes, all at one location.
        parts: ``(R, R)`` true part map, -1 = background.
    Returns:
        px of background motion per 2 px poke (0 = the background stays still, as it truly does);
        NaN when no background pixel lies in the ring.
    """
    r = parts.shape[0]
    lo, hi = at_resolution(DRAG_RING_PX, r)
    ys, xs = np.mgrid[0:r, 0:r]
    dist = np.hypot(xs - pokes[0].x, ys - pokes[0].y)
    ring = (parts < 0) & (dist >= lo) & (dist <= hi)
    if not ring.any():
        return float("nan")
    moved = np.linalg.norm(np.asarray(motions, np.float64)[:, ring], axis=-1)  # (N, pixels)
    per_poke = moved.mean(1) / np.maximum([p.magnitude for p in pokes], 1e-9)
    return float(per_poke.mean() * DRAG_POKE_PX)


def rigidity(motion: np.ndarray, parts: np.ndarray, min_pixels: int = RIGID_MIN_PIXELS) -> float:
    """How far a motion field is from moving each true part rigidly: mean over parts of the RMS residual (px)
    of the least-squares affine fit ``motion(x, y) ~ A @ (x, y, 1)`` over the part's pixels.

    An affine map holds every rigid motion (rotation + translation), so the simulator's parts give about 0;
    a field that shears or bends inside a part, or fades across it, gives more.

    Args:
        motion: ``(R, R, 2)`` forward motion of every source pixel (model px).
        parts: ``(R, R)`` true part map of the source, -1 = background.
        min_pixels: parts with fewer pixels are left out.
    Returns:
        px; NaN when no part has ``min_pixels`` pixels.
    """
    residuals = []
    for part in np.unique(parts[parts >= 0]):
        ys, xs = np.nonzero(parts == part)
        if len(xs) < min_pixels:
            continue
        design = np.stack([xs, ys, np.ones_like(xs)], 1).astype(np.float64)  # (P, 3)
        target = np.asarray(motion, np.float64)[ys, xs]  # (P, 2)
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        residuals.append(math.sqrt(float(((design @ coef - target) ** 2).sum(1).mean())))
    return float(np.mean(residuals)) if residuals else float("nan")


def agreement(heatmap: np.ndarray, truth: np.ndarray, parts: np.ndarray) -> tuple[float, float]:
    """(correlation, mean |heatmap - truth|) over the object pixels (``parts >= 0``); the correlation is NaN
    when either map is constant there (e.g. a method that never moves)."""
    on = parts >= 0
    a, b = np.asarray(heatmap, np.float64)[on], np.asarray(truth, np.float64)[on]
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-12 and b.std() > 1e-12 else float("nan")
    return corr, float(np.abs(a - b).mean())


def comparison_row(source: np.ndarray, parts: np.ndarray, parents: np.ndarray, location: tuple[float, float],
                   maps: list[np.ndarray | None], names: list[str], aucs: list[float], upscale: int = 3) -> np.ndarray:
    """One clip of a maps figure: the source with the poked part's subtree outlined (green) and the poke
    location (cyan), then each map (inferno, 0-1; black where None) with the same outline, captioned with
    its name and ``aucs`` (its structure AUC). Returns ``(H, W, 3) uint8`` RGB."""
    positive = np.isin(parts, subtree(parents, poked_part(parts, location))).astype(np.uint8)
    positive = cv2.resize(positive, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
    outline, _ = cv2.findContours(positive, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    tiles = []
    panels = [(source, "source, poked subtree")] + [
        (colorize(np.zeros(parts.shape, np.float32) if m is None else m), f"{n.split(' (')[0][:16]} {a:.2f}")
        for m, n, a in zip(maps, names, aucs)]
    for image, text in panels:
        big = cv2.resize(np.ascontiguousarray(image), None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
        cv2.drawContours(big, outline, -1, (0, 255, 0), 1)
        cv2.circle(big, (int(round(location[0] * upscale)), int(round(location[1] * upscale))), 3, (0, 255, 255), -1)
        tiles.append(caption(big, text))
        tiles.append(np.full((tiles[-1].shape[0], 4, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], 1)
