"""Procedural 2-D human figures: pelvis, torso, head, upper/lower arms and legs, in clothes.

The pelvis is the root (a stiff joint at the hip centre); legs hang from the pelvis and the torso
stands on it, so a poke on the head bends the torso at the hips without swinging the legs.
"""
from __future__ import annotations

import numpy as np

from ipoke_core.data.synthetic.body import HEAD, LIMB, PELVIS, TORSO, Body

SKIN = np.array([[255, 220, 190], [235, 190, 150], [200, 150, 110], [150, 100, 70], [110, 75, 50]], np.float64)
HAIR = np.array([[30, 25, 20], [90, 60, 30], [200, 170, 100], [120, 50, 20], [140, 140, 140]], np.float64)
CLOTH = np.array(
    [[200, 40, 40], [40, 80, 180], [240, 240, 240], [40, 40, 40], [60, 150, 80], [230, 190, 50], [130, 70, 160],
     [90, 110, 130], [200, 120, 60], [40, 160, 170]],
    np.float64,
)


def make_figure(rng: np.random.Generator, size: int) -> tuple[Body, dict]:
    """A random standing figure scaled to a ``size x size`` image; returns (body, scene)."""
    s = float(size)
    h = s * rng.uniform(0.66, 0.8)  # body height, feet to top of head
    skin = np.clip(SKIN[rng.integers(len(SKIN))] + rng.normal(0, 6, 3), 0, 255)
    hair = HAIR[rng.integers(len(HAIR))]
    shirt = np.clip(CLOTH[rng.integers(len(CLOTH))] + rng.normal(0, 10, 3), 0, 255)
    trousers = np.clip(CLOTH[rng.integers(len(CLOTH))] * 0.7 + rng.normal(0, 10, 3), 0, 255)
    stripes = np.clip(shirt * 0.6 + rng.uniform(0, 100), 0, 255) if rng.random() < 0.7 else None
    short_sleeves = rng.random() < 0.4
    build = rng.uniform(0.85, 1.2)

    torso_len, torso_w = 0.3 * h, 0.16 * h * build
    hip_w = 0.13 * h * build
    upper_leg, lower_leg = 0.25 * h, 0.24 * h
    leg_w = 0.07 * h * build
    upper_arm, lower_arm = 0.17 * h, 0.16 * h
    arm_w = 0.05 * h * build
    head_r = 0.065 * h
    neck = 0.05 * h

    ground = s * rng.uniform(0.93, 0.97)
    cx = s / 2 + s * rng.uniform(-0.08, 0.08)
    hip_y = ground - (upper_leg + lower_leg) * 0.98 - 0.01 * h
    outline = lambda c: np.clip(c * 0.55, 0, 255)  # noqa: E731

    parent, attach, rest, length, width, kind, style = [], [], [], [], [], [], []

    def add(par, at, ang, ln, wd, kd, st):
        parent.append(par)
        attach.append(at)
        rest.append(ang)
        length.append(ln)
        width.append(wd)
        kind.append(kd)
        style.append(st)
        return len(parent) - 1

    pelvis = add(-1, (0.0, 0.0), rng.normal(0, 0.03), hip_w, leg_w * 1.1, PELVIS,
                 {"colour": trousers, "outline": outline(trousers)})
    torso_abs = -np.pi / 2 + rng.normal(0, 0.07)
    torso = add(pelvis, (0.0, 0.0), torso_abs - rest[pelvis], torso_len, torso_w, TORSO,
                {"colour": shirt, "outline": outline(shirt), "stripes": stripes, "hip_width": hip_w * 1.25})
    add(torso, (torso_len, 0.0), rng.normal(0, 0.1), neck + 2 * head_r, head_r * 2, HEAD,
               {"colour": skin, "outline": outline(skin), "hair": hair, "radius": head_r})
    sleeve = shirt
    for side in (-1, 1):  # -1: figure's right (image left)
        # in the torso frame (pointing up), perp points to image +x
        a_out = rng.uniform(0.08, 0.7)
        abs_upper = np.pi / 2 - side * a_out
        ua = add(torso, (torso_len * 0.92, side * torso_w * 0.5), abs_upper - torso_abs, upper_arm, arm_w, LIMB,
                 {"colour": skin if short_sleeves else sleeve, "outline": outline(sleeve), "cap": sleeve})
        add(ua, (upper_arm, 0.0), -side * rng.uniform(-0.3, 0.9), lower_arm, arm_w * 0.9, LIMB,
            {"colour": skin if short_sleeves else sleeve, "outline": outline(skin), "hand": skin})
    for side in (-1, 1):
        a_out = rng.uniform(0.0, 0.22)
        abs_upper = np.pi / 2 - side * a_out
        ul = add(pelvis, (side * hip_w * 0.5, 0.0), abs_upper - rest[pelvis], upper_leg, leg_w, LIMB,
                 {"colour": trousers, "outline": outline(trousers)})
        add(ul, (upper_leg, 0.0), side * a_out * rng.uniform(0.6, 1.2), lower_leg, leg_w * 0.85, LIMB,
            {"colour": trousers, "outline": outline(trousers), "foot": np.clip(CLOTH[rng.integers(len(CLOTH))] * 0.4, 0, 255),
             "foot_side": side})

    body = Body.from_lists(parent, attach, rest, length, width, kind, np.array([cx, hip_y]), style)
    draw_dynamics(rng, body)
    body.level = np.array([0, 1, 2, 2, 3, 2, 3, 1, 2, 1, 2], np.float64)[:body.n_parts]  # type: ignore[attr-defined]
    scene = {"floor_y": ground, "shadow": (cx, ground, hip_w * 2.2)}
    return body, scene


def draw_dynamics(rng: np.random.Generator, body: Body) -> None:
    """Draw the joints' springs (``body.set_dynamics``): a stiff hip, a soft waist, limbs in between.
    Nothing in the image shows these draws."""
    k = body.kind
    p = body.n_parts
    freq = np.where(k == PELVIS, 3.0, np.where(k == TORSO, rng.uniform(0.9, 1.4), rng.uniform(1.2, 2.4, p)))
    zeta = np.where(k == PELVIS, 0.6, rng.uniform(0.2, 0.45, p))
    body.set_dynamics(freq, zeta)
