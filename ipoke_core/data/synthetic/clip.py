"""One synthetic clip: build an object, poke it, simulate, render, and record the ground truth.

``make_clip(kind, seed, index, size, n_frames)`` is a pure function of its arguments: the random
generator is seeded with ``(seed, index, kind)``, so clip i of a data set never depends on how
many clips were asked for or in which order workers made them.

Pushes per object (``pushes=K``): clips ``o*K .. o*K + K-1`` show the same object ``o`` (the object,
scene and light of single-push clip ``o``), each pushed at its own point. Push 0 is single-push
clip ``o`` exactly; the others draw their poke from a generator seeded with ``(seed, index, kind, 1)``.
Why: with one clip per object every poke on an image is trained towards the same video, so poking
a leaf and poking the trunk cannot be told apart; the paper's data sets hold many clips of each
plant or person, pushed in different places.

Props (``props=P``): up to P rigid props (boxes, framed pictures, balls, bottles; ``render.draw_props``)
drawn into the object's backdrop, the same for all its pushes, from a generator seeded with
``(seed, object, kind, 2)``; with P = 0 the clips are those of before props existed. They never move:
a real photo has hard-edged things around its object that a poke must leave where they are.

Ground truth (``SyntheticClip``): the poke (point, force, duration, and the poked point's actual
displacement at the last frame), the pose of every part in every frame (joint position and
absolute angle; the dense motion of every object pixel follows from it, see ``dense_motion``),
the part map of frame 0 (-1 = background) with the kinematic tree (``parents``), and the mask.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ipoke_core.data.synthetic.body import HEAD, LEAF, PELVIS, Body
from ipoke_core.data.synthetic.figure import make_figure
from ipoke_core.data.synthetic.physics import PokeForce, simulate, static_gain
from ipoke_core.data.synthetic.plant import make_plant
from ipoke_core.data.synthetic.render import Drawing, draw_pot, draw_props, draw_shadow, lighting, make_background

KINDS = ("plant", "figure")
DEFAULT_FPS = 15.0


@dataclass
class SyntheticClip:
    frames: np.ndarray  # (T, S, S, 3) uint8
    parts: np.ndarray  # (S, S) int16, part id of every pixel in frame 0, -1 = background
    parents: np.ndarray  # (P,) int, -1 for the root
    part_kinds: np.ndarray  # (P,) int
    starts: np.ndarray  # (T, P, 2) float32 joint positions (pixels)
    angles: np.ndarray  # (T, P) float32 absolute part angles (radians)
    poke: dict  # x, y, fx, fy, part, u, v, duration, disp_dx, disp_dy
    fps: float

    @property
    def mask(self) -> np.ndarray:
        return self.parts >= 0

PUSH_SECONDS = (0.6, 1.2)  # how long a clip's push is held, drawn uniformly (not visible in its frames)
# which way a clip's push points: across the poked part (as a hand pushes a stem, the default) or any way
PUSH_DIRECTIONS = ("across", "any")


def dense_motion(parts: np.ndarray, starts: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Forward motion of every frame-0 object pixel to every frame: ``(T, S, S, 2) float32``.

    ``motion[t, y, x]`` is where the object point seen at pixel (x, y) in frame 0 has moved by
    frame t (zero on the background), computed from the rigid pose of its part.
    """
    t = starts.shape[0]
    out = np.zeros((t,) + parts.shape + (2,), np.float32)
    ys, xs = np.nonzero(parts >= 0)
    if len(xs) == 0:
        return out
    out[:, ys, xs] = object_motion(parts[ys, xs], xs, ys, starts, angles)
    return out


def object_motion(pid: np.ndarray, xs: np.ndarray, ys: np.ndarray, starts: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Motion ``(T, N, 2)`` of N frame-0 points at (xs, ys) that belong to parts ``pid``."""
    rel_x, rel_y = xs - starts[0, pid, 0], ys - starts[0, pid, 1]
    a0 = angles[0, pid]
    # local coordinates in the part frame at frame 0
    u = rel_x * np.cos(a0) + rel_y * np.sin(a0)
    v = -rel_x * np.sin(a0) + rel_y * np.cos(a0)
    c, s = np.cos(angles[:, pid]), np.sin(angles[:, pid])
    x = starts[:, pid, 0] + u * c - v * s
    y = starts[:, pid, 1] + u * s + v * c
    return np.stack([x - xs, y - ys], -1).astype(np.float32)


def _choose_poke(rng: np.random.Generator, body: Body, labels: np.ndarray, starts0, angles0, size: int,
                 directions: str = "across"):
    """A visible point on the object and a force on it that moves it by a few percent of the image, pointing
    across the part (``directions='across'``: 90 degrees from its axis, give or take 26) or any way."""
    kinds = body.kind
    weights = body.length * np.maximum(body.width, 1.0)
    weights = weights * np.where(kinds == LEAF, 1.5, 1.0) * np.where(kinds == PELVIS, 0.1, 1.0)
    weights = weights / weights.sum()
    for _ in range(20):
        part = int(rng.choice(body.n_parts, p=weights))
        ln = body.length[part]
        u = ln - body.style[part]["radius"] if kinds[part] == HEAD else ln * rng.uniform(0.35, 0.95)
        if kinds[part] == PELVIS:
            u = rng.uniform(-0.4, 0.4) * ln
        x, y = body.points(starts0, angles0, part, np.array([[u, 0.0]]))[0]
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < size and 0 <= yi < size):
            continue
        visible = int(labels[yi, xi]) - 1
        if visible < 0:
            continue
        # poke the part that is actually visible at that pixel, at that pixel
        part, x, y = visible, float(xi), float(yi)
        a, (sx, sy) = angles0[part], starts0[part]
        u = (x - sx) * np.cos(a) + (y - sy) * np.sin(a)
        v = -(x - sx) * np.sin(a) + (y - sy) * np.cos(a)
        if directions == "any":
            theta = rng.uniform(0, 2 * np.pi)
        else:
            theta = angles0[part] + rng.choice([-1, 1]) * np.pi / 2 + rng.normal(0, 0.45)
        direction = np.array([np.cos(theta), np.sin(theta)])
        gain, q_unit = static_gain(body, part, u, v, direction)
        if gain < 1e-9:
            continue
        want = size * rng.uniform(0.08, 0.2)  # static displacement of the poked point, pixels
        magnitude = want / gain
        # bend at most 0.5 rad summed over the joints (a long stem of soft joints would otherwise
        # whip its tip across half the image)
        bend = np.abs(q_unit).sum() * magnitude
        if bend > 0.5:
            magnitude *= 0.5 / bend
        force = direction * magnitude
        # held PUSH_SECONDS (0.6-1.2 s), like a hand pushing a plant: over the 10-frame training window
        # (0.67 s at 15 fps) the poked point moves towards where the push takes it, so a clip's first-to-last
        # displacement (the training poke) says where the part went, not where a rebound left it
        duration = float(rng.uniform(*PUSH_SECONDS))
        return PokeForce(part, float(u), float(v), (float(force[0]), float(force[1])), duration), (x, y)
    return None, None


@dataclass
class PosedObject:
    """Clip ``index`` before it moves: the body (with its dynamics), the rest pose, the frame-0 labels
    (part id + 1 per pixel, 0 = background), the chosen poke and the generator state that follows.
    ``make_clip`` simulates and renders it; ``analysis.true_dynamics`` pokes it elsewhere."""

    rng: np.random.Generator
    body: Body
    drawing: Drawing
    background: np.ndarray
    labels: np.ndarray
    starts0: np.ndarray
    angles0: np.ndarray
    poke: PokeForce
    point: tuple[float, float]


def posed_object(kind: str, seed: int, index: int, size: int = 128, pushes: int = 1, props: int = 0,
                 directions: str = "across") -> PosedObject:
    """The object of clip ``index`` of the data set with ``seed`` (``pushes`` clips per object, see the
    module docstring; up to ``props`` static props in its backdrop), posed and poked but not yet simulated."""
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}; choose from {', '.join(KINDS)}")
    if pushes < 1:
        raise ValueError(f"pushes must be >= 1, got {pushes}")
    if props < 0:
        raise ValueError(f"props must be >= 0, got {props}")
    if directions not in PUSH_DIRECTIONS:
        raise ValueError(f"push directions must be one of {', '.join(PUSH_DIRECTIONS)}, got {directions!r}")
    obj = _posed_object(kind, seed, index // pushes, size, props, directions)
    if index % pushes == 0:
        return obj
    rng = np.random.default_rng([int(seed), int(index), KINDS.index(kind), 1])
    for _attempt in range(10):
        poke, point = _choose_poke(rng, obj.body, obj.labels, obj.starts0, obj.angles0, size, directions)
        if poke is not None:
            return replace(obj, rng=rng, poke=poke, point=point)
    return replace(obj, rng=rng)  # no other pokeable point found (rare): the object's own poke


def _posed_object(kind: str, seed: int, index: int, size: int, props: int = 0,
                  directions: str = "across") -> PosedObject:
    rng = np.random.default_rng([int(seed), int(index), KINDS.index(kind)])
    # props from a stream of their own: with props = 0 every clip is what it was before they existed
    prop_rng = np.random.default_rng([int(seed), int(index), KINDS.index(kind), 2])
    for _attempt in range(100):  # a new object when no visible poke point was found (rare)
        body, scene = make_plant(rng, size) if kind == "plant" else make_figure(rng, size)
        light = lighting(rng, size)
        background = make_background(rng, size, scene["floor_y"], light)
        if props:
            draw_props(background, prop_rng, int(prop_rng.integers(0, props + 1)), light)
        if kind == "plant":
            draw_pot(background, scene, light)
            order = [i for i in range(body.n_parts) if body.kind[i] != LEAF] + [i for i in range(body.n_parts) if body.kind[i] == LEAF]
        else:
            draw_shadow(background, scene)
            order = [0, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6]
        drawing = Drawing(body, order, light)
        starts0, angles0 = body.kinematics()
        labels = np.zeros((size, size), np.uint16)
        drawing.draw_labels(labels, drawing.pose(starts0, angles0))
        poke, point = _choose_poke(rng, body, labels, starts0, angles0, size, directions)
        if poke is not None:
            return PosedObject(rng, body, drawing, background, labels, starts0, angles0, poke, point)
    raise RuntimeError(f"no pokeable {kind} found for clip {index} at size {size}")


def make_clip(kind: str, seed: int, index: int, size: int = 128, n_frames: int = 30, fps: float = DEFAULT_FPS,
              wind: float = 0.0, pushes: int = 1, props: int = 0, directions: str = "across") -> SyntheticClip:
    """Generate clip ``index`` of the data set with ``seed``, ``pushes`` clips per object, up to ``props``
    static props behind it and pushes pointing ``directions`` (see module docstring)."""
    obj = posed_object(kind, seed, index, size, pushes, props, directions)
    body, poke, point = obj.body, obj.poke, obj.point
    phase = obj.rng.uniform(0, 2 * np.pi, body.n_parts)
    q, _ = simulate(body, poke, n_frames, fps, wind=wind, wind_phase=phase)
    starts, angles = body.kinematics(q)
    frames = np.empty((n_frames, size, size, 3), np.uint8)
    for t in range(n_frames):
        img = frames[t]
        img[...] = obj.background
        obj.drawing.draw(img, obj.drawing.pose(starts[t], angles[t]))
    end = body.points(starts[-1], angles[-1], poke.part, np.array([[poke.u, poke.v]]))[0]
    poke_info = {
        "x": point[0], "y": point[1], "fx": poke.force[0], "fy": poke.force[1], "part": poke.part,
        "u": poke.u, "v": poke.v, "duration": poke.duration,
        "disp_dx": float(end[0] - point[0]), "disp_dy": float(end[1] - point[1]),
    }
    return SyntheticClip(
        frames=frames,
        parts=(obj.labels.astype(np.int32) - 1).astype(np.int16),
        parents=body.parent.astype(np.int32),
        part_kinds=body.kind.astype(np.int8),
        starts=starts.astype(np.float32),
        angles=angles.astype(np.float32),
        poke=poke_info,
        fps=fps,
    )
