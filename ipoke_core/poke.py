"""Pokes: a pixel location and the 2-D displacement the user asks of it.

A poke (x, y, dx, dy) says "move the object point at pixel (x, y) by (dx, dy) pixels by the end
of the video" (paper Sec. 3.2). In the impulse variant (App. B) the same arrow is read as a
direction plus a magnitude normalised to [0, 1] that sets how strongly the object is struck.

Rasterisation (what the network sees): a ``(2, R, R)`` map that is zero everywhere except for
a ``(2r+1) x (2r+1)`` square centred on the poke location, which holds the displacement
(dx, dy) divided by ``poke_scale``. This is the choice of the official implementation (a
small square rather than a single pixel, so that strided convolutions cannot miss it).
Several pokes write several squares; where squares overlap, the later poke wins.
"""
from __future__ import annotations

from ipoke_core.errors import UserError

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

# RGB of a poke arrow wherever one is drawn: the app's canvas and player, and exported videos
POKE_COLOR = (255, 80, 40)


class PokeError(UserError, ValueError):
    """A poke is invalid (outside the image, zero length, longer than the image, not finite)."""


@dataclass(frozen=True)
class Poke:
    """A poke at pixel (x, y), asking for a displacement (dx, dy), all in pixels of one image."""

    x: float
    y: float
    dx: float
    dy: float

    @property
    def magnitude(self) -> float:
        return math.hypot(self.dx, self.dy)

    @property
    def target(self) -> tuple[float, float]:
        return (self.x + self.dx, self.y + self.dy)

    def validate(self, width: int, height: int, allow_zero: bool = False) -> None:
        """Raise PokeError unless the poke is finite, inside a ``width x height`` image and non-zero."""
        values = (self.x, self.y, self.dx, self.dy)
        if not all(math.isfinite(v) for v in values):
            raise PokeError(f"poke has a non-finite coordinate: {self}")
        if not (0 <= self.x <= width - 1 and 0 <= self.y <= height - 1):
            raise PokeError(
                f"poke location ({self.x:g}, {self.y:g}) is outside the {width}x{height} image "
                f"(valid x in [0, {width - 1}], y in [0, {height - 1}])"
            )
        if not allow_zero and self.magnitude < 1e-6:
            raise PokeError("poke has zero length: drag from the poke point to where it should move")
        # a displacement longer than the image is far outside anything the model has seen: colour noise
        longest = math.hypot(width, height)
        if self.magnitude > longest:
            raise PokeError(
                f"poke displacement ({self.dx:g}, {self.dy:g}) is longer than the {width}x{height} image "
                f"(at most its diagonal, {longest:.0f} px): poke by a distance within the image"
            )

    def scaled(self, sx: float, sy: float, ox: float = 0.0, oy: float = 0.0) -> Poke:
        """The poke in another pixel grid: location ``(x * sx + ox, y * sy + oy)``, displacement scaled."""
        return Poke(self.x * sx + ox, self.y * sy + oy, self.dx * sx, self.dy * sy)

    @staticmethod
    def parse(at: str, by: str) -> Poke:
        """Parse the CLI form ``--at X,Y --by DX,DY``."""
        try:
            x, y = (float(v) for v in at.split(","))
            dx, dy = (float(v) for v in by.split(","))
        except ValueError:
            raise PokeError(f"cannot read poke --at {at!r} --by {by!r}: expected two numbers each, like 30,40") from None
        return Poke(x, y, dx, dy)


def poke_values(poke: Poke, mode: str, scale: float) -> tuple[float, float]:
    """The two numbers written into the poke map for ``poke`` (model pixels).

    shift: displacement / scale. impulse: unit direction * min(|d| / scale, 1) (App. B, Eq. 9).
    """
    if mode == "shift":
        return poke.dx / scale, poke.dy / scale
    if mode == "impulse":
        m = poke.magnitude
        if m < 1e-12:
            return 0.0, 0.0
        strength = min(m / scale, 1.0)
        return poke.dx / m * strength, poke.dy / m * strength
    raise PokeError(f"unknown poke mode {mode!r}")


def rasterize(pokes: Sequence[Poke], size: int, radius: int = 2, mode: str = "shift", scale: float = 16.0) -> torch.Tensor:
    """Rasterise pokes given in model pixels into the network input.

    Returns:
        ``(2, size, size)`` float32: channel 0 holds dx, channel 1 holds dy (scaled, see module doc)
        inside a ``(2*radius+1)``-wide square around each poke, zeros elsewhere.
    """
    out = np.zeros((2, size, size), np.float32)
    for p in pokes:
        cx, cy = int(round(p.x)), int(round(p.y))
        x0, x1 = max(cx - radius, 0), min(cx + radius + 1, size)
        y0, y1 = max(cy - radius, 0), min(cy + radius + 1, size)
        if x0 >= x1 or y0 >= y1:
            raise PokeError(f"poke at ({p.x:g}, {p.y:g}) lies outside the {size}x{size} model input")
        vx, vy = poke_values(p, mode, scale)
        out[0, y0:y1, x0:x1] = vx
        out[1, y0:y1, x0:x1] = vy
    return torch.from_numpy(out)


def rasterize_batch(
    batch: Sequence[Sequence[Poke]], size: int, radius: int = 2, mode: str = "shift", scale: float = 16.0
) -> torch.Tensor:
    """Rasterise one list of pokes per sample: ``(B, 2, size, size)``."""
    return torch.stack([rasterize(p, size, radius, mode, scale) for p in batch])
