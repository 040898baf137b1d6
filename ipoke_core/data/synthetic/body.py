"""Articulated bodies: kinematic trees of rigid parts, and their forward kinematics.

A body has P parts. Part i is a rigid piece with its own frame: an origin ``start_i`` (its joint)
and an axis direction at absolute angle ``a_i`` (image coordinates: x right, y down, so angles
turn from +x towards +y). A point of part i with local coordinates (u, v), u along the axis and
v to its side, sits at ``start_i + u * dir(a_i) + v * perp(a_i)`` with ``dir(a) = (cos a, sin a)``
and ``perp(a) = (-sin a, cos a)``.

Part i hangs from ``parent[i]`` (-1 for the root; parents precede children). Its joint sits at
the point (attach_u, attach_v) of the parent's frame, and its angle is the parent's angle plus
``rest_angle[i] + q[i]``, where ``q`` are the joint deflections the physics integrates. The root's
joint is fixed at ``root_pos`` and its angle is ``rest_angle[0] + q[0]``.

Forward kinematics is a pair of matrix products (no Python loop over parts), batched over time:
``abs_angle = (rest + q) @ A.T`` with ``A[i, j] = 1`` for j an ancestor of i or i itself, and the
joint positions ``root + Cu @ dir + Cv @ perp`` where ``Cu[i, j]`` / ``Cv[i, j]`` hold the
attachment offsets on ancestor j of the child of j on the path to i.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# part kinds (drawing style and physics defaults)
STEM, LEAF, PELVIS, TORSO, HEAD, LIMB = range(6)
KIND_NAMES = ["stem", "leaf", "pelvis", "torso", "head", "limb"]


@dataclass
class Body:
    """A kinematic tree; all lengths in pixels of the render size, all arrays indexed by part."""

    parent: np.ndarray  # (P,) int, -1 for the root, parent[i] < i
    attach: np.ndarray  # (P, 2) float, joint position (u, v) in the parent's frame
    rest_angle: np.ndarray  # (P,) float, angle relative to the parent (absolute for the root)
    length: np.ndarray  # (P,) float
    width: np.ndarray  # (P,) float
    kind: np.ndarray  # (P,) int, one of STEM, LEAF, ...
    root_pos: np.ndarray  # (2,) float
    # per-part drawing data (colours, shape parameters), read by the renderer
    style: list[dict] = field(default_factory=list)
    # physics, filled by ``set_dynamics``
    inertia: np.ndarray | None = None  # (P,) effective moment of inertia of the subtree about the joint
    stiffness: np.ndarray | None = None  # (P,)
    damping: np.ndarray | None = None  # (P,)

    def __post_init__(self) -> None:
        p = len(self.parent)
        if p == 0 or self.parent[0] != -1 or any(self.parent[i] >= i or self.parent[i] < 0 for i in range(1, p)):
            raise ValueError("parts must be ordered parents first, with a single root at index 0")
        self._build_matrices()

    @classmethod
    def from_lists(cls, parent: list, attach: list, rest_angle: list, length: list, width: list, kind: list,
                   root_pos: Any, style: list[dict]) -> Body:
        """A Body from the per-part lists a generator builds (parents first)."""
        return cls(
            parent=np.array(parent),
            attach=np.array(attach, np.float64),
            rest_angle=np.array(rest_angle, np.float64),
            length=np.array(length, np.float64),
            width=np.array(width, np.float64),
            kind=np.array(kind),
            root_pos=np.asarray(root_pos),
            style=style,
        )

    @property
    def n_parts(self) -> int:
        return len(self.parent)

    def _build_matrices(self) -> None:
        p = self.n_parts
        anc = np.zeros((p, p), np.float64)
        cu = np.zeros((p, p), np.float64)
        cv = np.zeros((p, p), np.float64)
        for i in range(p):
            anc[i, i] = 1.0
            child, j = i, self.parent[i]
            while j >= 0:
                anc[i, j] = 1.0
                cu[i, j], cv[i, j] = self.attach[child]
                child, j = j, self.parent[j]
        self.ancestors = anc  # (P, P), includes the part itself
        self._cu, self._cv = cu, cv

    def subtree(self, j: int) -> np.ndarray:
        """Boolean mask of the parts in the subtree rooted at part j (j included)."""
        return self.ancestors[:, j] > 0

    def children(self, j: int) -> np.ndarray:
        return np.nonzero(self.parent == j)[0]

    def kinematics(self, q: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Joint positions and absolute angles for deflections ``q``.

        Args:
            q: ``(P,)`` or ``(T, P)`` joint deflections in radians (None: the rest pose).
        Returns:
            ``starts (..., P, 2)`` joint positions in pixels and ``angles (..., P)`` absolute angles.
        """
        if q is None:
            q = np.zeros(self.n_parts)
        angles = (self.rest_angle + q) @ self.ancestors.T
        c, s = np.cos(angles), np.sin(angles)
        # dir = (c, s), perp = (-s, c)
        x = self.root_pos[0] + (c @ self._cu.T) - (s @ self._cv.T)
        y = self.root_pos[1] + (s @ self._cu.T) + (c @ self._cv.T)
        return np.stack([x, y], axis=-1), angles

    def points(self, starts: np.ndarray, angles: np.ndarray, part: int, uv: np.ndarray) -> np.ndarray:
        """World positions of local points ``uv (N, 2)`` of ``part`` in one pose: ``(N, 2)``."""
        c, s = np.cos(angles[part]), np.sin(angles[part])
        u, v = uv[:, 0], uv[:, 1]
        return np.stack([starts[part, 0] + u * c - v * s, starts[part, 1] + u * s + v * c], axis=-1)

    def centers(self, starts: np.ndarray, angles: np.ndarray) -> np.ndarray:
        """Mid-points of every part's axis: ``(..., P, 2)``."""
        half = self.length / 2
        return starts + np.stack([np.cos(angles) * half, np.sin(angles) * half], axis=-1)

    def transform(self, factor: float, origin: np.ndarray, offset: np.ndarray) -> None:
        """Scale the body by ``factor`` about ``origin`` and then shift it by ``offset`` (in place)."""
        self.root_pos = (self.root_pos - origin) * factor + origin + offset
        self.attach = self.attach * factor
        self.length = self.length * factor
        self.width = self.width * factor
        for st in self.style:
            for key in ("radius", "tip", "head_radius"):
                if key in st:
                    st[key] = st[key] * factor
        self._build_matrices()

    def set_dynamics(self, frequency_hz: np.ndarray, damping_ratio: np.ndarray, density: float = 1.0) -> None:
        """Give every joint a damped torsional spring.

        The joint of part j carries the whole subtree below it; its effective inertia is that
        subtree's moment of inertia about the joint in the rest pose (rods of mass
        ``density * length * width``). Stiffness and damping follow from the requested natural
        frequency and damping ratio: ``k = I w^2``, ``c = 2 zeta I w``.
        """
        starts, angles = self.kinematics()
        centers = self.centers(starts, angles)
        mass = density * self.length * np.maximum(self.width, 1.0)
        own = mass * (self.length**2 + self.width**2) / 12.0
        d2 = ((centers[None, :, :] - starts[:, None, :]) ** 2).sum(-1)  # (joint j, part s)
        inside = self.ancestors.T  # inside[j, s] = 1 if s in subtree of j
        self.inertia = (inside * (mass[None, :] * d2 + own[None, :])).sum(1)
        omega = 2 * np.pi * np.asarray(frequency_hz, np.float64)
        self.stiffness = self.inertia * omega**2
        self.damping = 2 * np.asarray(damping_ratio, np.float64) * self.inertia * omega

    def bounds(self, starts: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box ``(lo (2,), hi (2,))`` of all parts' axes padded by half their widths."""
        ends = starts + np.stack([np.cos(angles), np.sin(angles)], -1) * self.length[:, None]
        pad = (self.width / 2)[:, None]
        lo = np.minimum(starts, ends) - pad
        hi = np.maximum(starts, ends) + pad
        return lo.min(0), hi.max(0)
