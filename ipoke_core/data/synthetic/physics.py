"""Joint dynamics of an articulated body: damped torsional springs driven by a poke.

Every joint j obeys ``I_j q_j'' = -k_j q_j - c_j q_j' + tau_j`` (see ``Body.set_dynamics`` for
I, k, c). A poke is a constant force F applied at one point of one part for a short time; it
reaches every ancestor joint j of that part (and the part's own joint) as the torque
``tau_j = r_j x F``, with r_j the lever arm from joint j to the point in the *current* pose, so
a poke on a leaf mostly turns the leaf's own light joints while the heavy trunk joint, which
carries the whole plant, barely moves. Joints are coupled through the geometry of the lever arms
(recomputed every frame while the force acts), not through inertia terms: a deliberate
simplification of full articulated-body dynamics that keeps every joint a stable damped
oscillator.

Integration is semi-implicit (symplectic) Euler with ``substeps`` steps per frame, vectorised
over joints; with the frequencies used here (< 6 Hz) and 8 substeps at 15 fps the step is far
inside the stability limit (omega * dt < 0.3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ipoke_core.data.synthetic.body import Body


@dataclass(frozen=True)
class PokeForce:
    """A force ``force`` (pixels-units, 2-vector) on point (u, v) of ``part``, held ``duration`` seconds."""

    part: int
    u: float
    v: float
    force: tuple[float, float]
    duration: float


def lever_arms(body: Body, q: np.ndarray, poke: PokeForce) -> tuple[np.ndarray, np.ndarray]:
    """Poke point ``(2,)`` and lever arms ``(P, 2)`` from every joint to it, in pose ``q``."""
    starts, angles = body.kinematics(q)
    point = body.points(starts, angles, poke.part, np.array([[poke.u, poke.v]]))[0]
    return point, point[None, :] - starts


def poke_torques(body: Body, q: np.ndarray, poke: PokeForce) -> np.ndarray:
    """Torques ``(P,)`` of the poke force on every joint (zero off the poked part's ancestry)."""
    _, r = lever_arms(body, q, poke)
    fx, fy = poke.force
    tau = r[:, 0] * fy - r[:, 1] * fx
    return tau * body.ancestors[poke.part]


def static_gain(body: Body, poke_part: int, u: float, v: float, direction: np.ndarray) -> tuple[float, np.ndarray]:
    """Linear static response to a unit force in ``direction`` at the rest pose.

    Returns the displacement (pixels) of the poked point per unit force and the joint
    deflections ``(P,)`` per unit force (``q = tau / k``).
    """
    probe = PokeForce(poke_part, u, v, (float(direction[0]), float(direction[1])), 0.0)
    _, r = lever_arms(body, np.zeros(body.n_parts), probe)
    tau = (r[:, 0] * direction[1] - r[:, 1] * direction[0]) * body.ancestors[poke_part]
    q = tau / body.stiffness
    # a small rotation q about joint j moves the point by q * perp(r_j), perp(r) = (-r_y, r_x)
    disp = (q[:, None] * np.stack([-r[:, 1], r[:, 0]], -1)).sum(0)
    return float(np.hypot(*disp)), q


def simulate(
    body: Body,
    poke: PokeForce | None,
    n_frames: int,
    fps: float,
    substeps: int = 8,
    wind: float = 0.0,
    wind_phase: np.ndarray | None = None,
    q0: np.ndarray | None = None,
    w0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the joint dynamics; frame 0 is the initial state (the poke starts right after it).

    Args:
        wind: amplitude of a light breeze as an angular acceleration (rad/s^2) on every joint,
            a slow sinusoid with a per-joint phase; 0 disables it.
    Returns:
        ``q (n_frames, P)`` joint deflections and ``w (n_frames, P)`` angular velocities.
    """
    if body.stiffness is None:
        raise ValueError("body has no dynamics; call set_dynamics first")
    p = body.n_parts
    q = np.zeros(p) if q0 is None else np.asarray(q0, np.float64).copy()
    w = np.zeros(p) if w0 is None else np.asarray(w0, np.float64).copy()
    inv_i = 1.0 / body.inertia
    k_i = body.stiffness * inv_i
    c_i = body.damping * inv_i
    dt = 1.0 / (fps * substeps)
    qs, ws = np.zeros((n_frames, p)), np.zeros((n_frames, p))
    qs[0], ws[0] = q, w
    phase = np.zeros(p) if wind_phase is None else wind_phase
    for f in range(1, n_frames):
        t_frame = (f - 1) / fps
        tau_acc = None
        if poke is not None and t_frame < poke.duration:
            tau_acc = poke_torques(body, q, poke) * inv_i  # lever arms refreshed once per frame
        for s in range(substeps):
            t = t_frame + s * dt
            acc = -k_i * q - c_i * w
            if tau_acc is not None and t < poke.duration:
                acc = acc + tau_acc
            if wind:
                acc = acc + wind * np.sin(2 * np.pi * 0.7 * t + phase)
            w = w + dt * acc
            q = q + dt * w
        qs[f], ws[f] = q, w
    return qs, ws


def energy(body: Body, q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mechanical energy of the springs and joints, ``(...,)`` for ``q, w (..., P)``."""
    return 0.5 * (body.inertia * w**2).sum(-1) + 0.5 * (body.stiffness * q**2).sum(-1)
