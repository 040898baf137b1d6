"""Sampling training pokes from a clip's motion (paper Sec. 3.2, App. E.2, App. B).

Given the displacement field ``flow (H, W, 2)`` from a window's first to its last frame:

- foreground poke: a location where the flow magnitude is above the frame's mean magnitude,
  its displacement = the flow there (the point truly moved that far by the last frame);
- background poke (a ``background_fraction`` of the samples): a location from the background,
  with magnitude and angle borrowed from a foreground location; its target is the still source;
- impulse variant (App. B): the direction of the sampled flow vector, with a strength in [0, 1]
  given by the window's amount of motion relative to the data set's (Eq. 9-10); see
  ``impulse_poke``.

Background pixels for flow-based sampling are those with a magnitude at most
``BACKGROUND_RATIO`` times the mean: clearly still, not merely below average, so that slow
object parts are rarely taught to be immovable. With a ground-truth mask (synthetic data) the
background is everything farther than ``margin`` pixels from the object.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BACKGROUND_RATIO = 0.25


@dataclass(frozen=True)
class SampledPoke:
    """A poke in pixels of the sampled field; ``is_background``: the target is the still source."""

    x: int
    y: int
    dx: float
    dy: float
    is_background: bool


def magnitude(flow: np.ndarray) -> np.ndarray:
    return np.hypot(flow[..., 0], flow[..., 1])


def flow_regions(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(foreground, background)`` boolean masks of a flow field (see module docstring)."""
    mag = magnitude(flow)
    mean = float(mag.mean())
    fg = mag > mean
    bg = mag <= BACKGROUND_RATIO * mean
    return fg, bg


def mask_regions(flow: np.ndarray, mask: np.ndarray, margin: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(foreground, background)`` from a true object mask: foreground = object pixels that move
    more than the frame's mean magnitude, background = pixels more than ``margin`` px off the object."""
    mag = magnitude(flow)
    fg = mask & (mag > mag.mean())
    if not fg.any():
        fg = mask & (mag > 0)
    k = 2 * margin + 1
    near = cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return fg, ~near


def _pick(rng: np.random.Generator, region: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(region)
    i = int(rng.integers(len(xs)))
    return int(xs[i]), int(ys[i])


def sample_poke(
    flow: np.ndarray,
    rng: np.random.Generator,
    background_fraction: float = 0.1,
    regions: tuple[np.ndarray, np.ndarray] | None = None,
    still_magnitude: float = 2.0,
) -> SampledPoke:
    """One training poke from ``flow (H, W, 2)`` (first -> last frame of the window).

    Args:
        regions: ``(foreground, background)`` masks; default ``flow_regions(flow)``.
        still_magnitude: poke length used when nothing moves in the window (then every pixel is
            background and the sample is a background poke with a random direction).
    """
    fg, bg = flow_regions(flow) if regions is None else regions
    want_background = rng.random() < background_fraction
    if not fg.any():  # a still window: whatever is poked, nothing should move
        x, y = int(rng.integers(flow.shape[1])), int(rng.integers(flow.shape[0]))
        a = rng.uniform(0, 2 * np.pi)
        return SampledPoke(x, y, float(np.cos(a) * still_magnitude), float(np.sin(a) * still_magnitude), True)
    fx, fy = _pick(rng, fg)
    dx, dy = (float(v) for v in flow[fy, fx])
    if want_background and bg.any():
        bx, by = _pick(rng, bg)
        return SampledPoke(bx, by, dx, dy, True)
    return SampledPoke(fx, fy, dx, dy, False)


def near_background_poke(poke: SampledPoke, regions: tuple[np.ndarray, np.ndarray], rng: np.random.Generator,
                         band_px: int) -> SampledPoke:
    """``poke`` (a background poke) moved to a background pixel within ``band_px`` of the object:
    the pot, the floor and the wall right beside the object, which a uniformly drawn background
    poke rarely hits and which must stay still as well. Unchanged if that band is empty."""
    _, bg = regions
    k = 2 * band_px + 1
    # ~bg is the object (with its margin) or, from flow, everything not clearly still
    near = bg & (cv2.dilate((~bg).astype(np.uint8), np.ones((k, k), np.uint8)) > 0)
    if not near.any():
        return poke
    x, y = _pick(rng, near)
    return SampledPoke(x, y, poke.dx, poke.dy, True)


def window_motion(step_motion: np.ndarray, start: int, seq_len: int, frame_step: int) -> float:
    """Average motion per model step in a window (App. B, Eq. 10): the mean over the window's
    frame pairs of the spatially averaged flow magnitude, ``frame_step`` source frames per step."""
    seg = np.asarray(step_motion[start:start + seq_len * frame_step], np.float64)
    return float(seg.sum() / seq_len) if seg.size else 0.0


def impulse_poke(p: SampledPoke, motion: float, reference: float, scale: float) -> SampledPoke:
    """The impulse variant: keep the direction, set the length to ``scale * min(motion / reference, 1)``
    so that ``rasterize(mode="impulse", scale=scale)`` sees a strength in [0, 1] that grows with the
    amount of motion in the window."""
    m = float(np.hypot(p.dx, p.dy))
    strength = min(max(motion / reference, 0.0), 1.0) if reference > 0 else 0.0
    if m < 1e-9:
        return SampledPoke(p.x, p.y, 0.0, 0.0, p.is_background)
    return SampledPoke(p.x, p.y, p.dx / m * scale * strength, p.dy / m * scale * strength, p.is_background)
