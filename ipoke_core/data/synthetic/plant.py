"""Procedural potted plants: a trunk of stem segments, 2-4 levels of branches, leaves, a pot.

Every random choice comes from the ``rng`` passed in, so a plant is a pure function of its seed.
Species parameters (leaf shape, colours, branching angles, stiffness) vary per plant.
"""
from __future__ import annotations

import numpy as np

from ipoke_core.data.synthetic.body import LEAF, STEM, Body

LEAF_GREENS = np.array(
    [[58, 125, 48], [92, 160, 60], [40, 100, 60], [120, 170, 70], [70, 140, 90], [35, 85, 40], [150, 180, 60]],
    np.float64,
)
LEAF_ODD = np.array([[150, 40, 70], [110, 50, 110], [200, 150, 40], [170, 80, 40]], np.float64)
STEM_COLOURS = np.array([[90, 120, 50], [110, 90, 50], [70, 110, 60], [130, 110, 70]], np.float64)
POT_COLOURS = np.array([[180, 90, 60], [200, 110, 70], [70, 90, 140], [220, 220, 210], [60, 60, 60], [150, 140, 60]])


def _jitter(rng: np.random.Generator, colour: np.ndarray, amount: float) -> np.ndarray:
    return np.clip(colour + rng.normal(0, amount, 3), 0, 255)


def make_plant(rng: np.random.Generator, size: int, max_parts: int = 40) -> tuple[Body, dict]:
    """A random plant standing in a pot, scaled to fit a ``size x size`` image.

    Returns the body (joint dynamics set) and the scene dict (pot box, soil colour) that the
    renderer draws into the static background.
    """
    s = float(size)
    # species
    height = s * rng.uniform(0.62, 0.8)
    n_trunk = int(rng.integers(2, 4))
    max_level = int(rng.integers(2, 5))  # branching generations (trunk = level 0)
    spread = rng.uniform(0.35, 0.95)
    leaf_len = s * rng.uniform(0.1, 0.17)
    leaf_aspect = rng.uniform(0.28, 0.6)
    leaf_point = rng.uniform(0.6, 1.6)
    leaf_base = LEAF_ODD[rng.integers(len(LEAF_ODD))] if rng.random() < 0.15 else LEAF_GREENS[rng.integers(len(LEAF_GREENS))]
    stem_colour = STEM_COLOURS[rng.integers(len(STEM_COLOURS))]
    trunk_width = s * rng.uniform(0.02, 0.035)
    variegated = rng.random() < 0.3
    droop = rng.uniform(-0.2, 0.5)

    parent: list[int] = []
    attach: list[tuple[float, float]] = []
    rest: list[float] = []
    length: list[float] = []
    width: list[float] = []
    kind: list[int] = []
    style: list[dict] = []
    level_of: list[int] = []

    def add(par: int, at: tuple[float, float], angle: float, ln: float, wd: float, kd: int, st: dict, lvl: int) -> int:
        parent.append(par)
        attach.append(at)
        rest.append(angle)
        length.append(ln)
        width.append(wd)
        kind.append(kd)
        style.append(st)
        level_of.append(lvl)
        return len(parent) - 1

    def add_leaf(par: int, along: float, angle: float) -> None:
        if len(parent) >= max_parts:
            return
        ln = leaf_len * rng.uniform(0.75, 1.25)
        colour = _jitter(rng, leaf_base, 12)
        st = {
            "colour": colour,
            "vein": np.clip(colour * 1.25 + 25, 0, 255),
            "shade": np.clip(colour * 0.8, 0, 255),
            "point": leaf_point,
            "variegated": variegated,
        }
        add(par, (along, 0.0), angle, ln, ln * leaf_aspect, LEAF, st, level_of[par] + 1)

    def stem_style(wd: float) -> dict:
        c = _jitter(rng, stem_colour, 10)
        return {"colour": c, "highlight": np.clip(c * 1.3 + 20, 0, 255)}

    seg_len = height * rng.uniform(0.5, 0.75) / n_trunk
    # trunk
    prev = -1
    trunk = []
    for t in range(n_trunk):
        wd = trunk_width * (1.0 - 0.18 * t)
        ln = seg_len * rng.uniform(0.85, 1.15)
        if prev < 0:
            idx = add(-1, (0.0, 0.0), -np.pi / 2 + rng.normal(0, 0.08), ln, wd, STEM, stem_style(wd), 0)
        else:
            idx = add(prev, (length[prev], 0.0), rng.normal(0, 0.14), ln, wd, STEM, stem_style(wd), 0)
        trunk.append(idx)
        prev = idx

    def grow(par: int, lvl: int) -> None:
        """Side branches (and their leaves) along stem part ``par``."""
        if len(parent) >= max_parts:
            return
        n_side = int(rng.integers(1, 3)) if lvl < max_level else 0
        for b in range(n_side):
            if len(parent) >= max_parts - 2:
                break
            side = 1 if (b + rng.integers(2)) % 2 else -1
            along = length[par] * rng.uniform(0.55, 1.0)
            ln = length[par] * rng.uniform(0.55, 0.95)
            wd = max(width[par] * 0.65, s * 0.008)
            ang = side * rng.uniform(0.5, 1.0) * spread * 1.4
            child = add(par, (along, 0.0), ang, ln, wd, STEM, stem_style(wd), lvl)
            if lvl + 1 <= max_level and rng.random() < 0.6:
                grow(child, lvl + 1)
            # leaves at the branch tip
            for k in range(int(rng.integers(1, 4))):
                add_leaf(child, length[child], rng.normal(0, 0.5) + droop * side)

    for t in trunk[1:]:
        grow(t, 1)
    if rng.random() < 0.4:
        grow(trunk[0], 1)
    # crown of leaves at the top of the trunk, leaves along the trunk
    for k in range(int(rng.integers(2, 4))):
        add_leaf(trunk[-1], length[trunk[-1]], rng.uniform(-1.1, 1.1))
    for t in trunk:
        if rng.random() < 0.5:
            add_leaf(t, length[t] * rng.uniform(0.3, 0.9), (1 if rng.random() < 0.5 else -1) * rng.uniform(0.7, 1.3))

    # pot and placement: the trunk stands on the soil line
    pot_w = s * rng.uniform(0.2, 0.3)
    pot_h = s * rng.uniform(0.12, 0.18)
    base_y = s * rng.uniform(0.9, 0.96)
    cx = s / 2 + s * rng.uniform(-0.08, 0.08)
    root = np.array([cx, base_y - pot_h])
    body = Body.from_lists(parent, attach, rest, length, width, kind, root, style)
    _fit(body, size, margin=0.06 * s, floor=root[1])

    body.level = np.array(level_of, np.float64)  # type: ignore[attr-defined]
    draw_dynamics(rng, body)

    scene = {
        "pot": (cx, base_y, pot_w, pot_h),
        "pot_colour": _jitter(rng, POT_COLOURS[rng.integers(len(POT_COLOURS))].astype(np.float64), 10),
        "soil_colour": _jitter(rng, np.array([70.0, 50.0, 35.0]), 8),
        "floor_y": base_y,
    }
    return body, scene


def draw_dynamics(rng: np.random.Generator, body: Body) -> None:
    """Draw the joints' springs (``body.set_dynamics``): heavier joints lower in the tree (``body.level``)
    are slower, leaves flutter faster. Nothing in the image shows these draws."""
    lvl = body.level
    is_leaf = body.kind == LEAF
    freq = np.where(is_leaf, rng.uniform(3.5, 5.5, len(lvl)), rng.uniform(1.0, 1.8) + 0.35 * lvl + rng.uniform(-0.1, 0.1, len(lvl)))
    zeta = np.where(is_leaf, rng.uniform(0.12, 0.3, len(lvl)), rng.uniform(0.06, 0.2) + rng.uniform(0, 0.05, len(lvl)))
    body.set_dynamics(freq, zeta)


def _fit(body: Body, size: int, margin: float, floor: float) -> None:
    """Shrink the plant about its root until it fits above ``floor`` inside the image margins."""
    starts, angles = body.kinematics()
    lo, hi = body.bounds(starts, angles)
    # leaves are wider than their axis; pad by the largest leaf half-length as a safe bound
    pad = float(body.width.max())
    lo, hi = lo - pad, hi + pad
    root = body.root_pos.copy()
    f = 1.0
    avail_up = root[1] - margin
    if root[1] - lo[1] > avail_up:
        f = min(f, avail_up / (root[1] - lo[1]))
    avail_left, avail_right = root[0] - margin, size - margin - root[0]
    if root[0] - lo[0] > avail_left:
        f = min(f, avail_left / (root[0] - lo[0]))
    if hi[0] - root[0] > avail_right:
        f = min(f, avail_right / (hi[0] - root[0]))
    if f < 1.0:
        body.transform(f, root, np.zeros(2))
