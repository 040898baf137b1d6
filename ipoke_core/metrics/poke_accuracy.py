"""Poke accuracy: does the poked pixel end up where the poke asked it to go?"""
from __future__ import annotations

import math

import numpy as np

from ipoke_core.flow import track_point
from ipoke_core.poke import Poke


def poke_accuracy(source: np.ndarray, frames: np.ndarray, poke: Poke) -> float:
    """Distance in pixels between the poke target and the poked pixel at the last frame.

    The pixel at the poke location of ``source`` is tracked through ``[source, *frames]`` by
    chaining DIS flow between consecutive frames (``flow.track_point``). Apply it to a generated
    video and to the ground-truth video alike: the latter tells how reachable the target was.

    Args:
        source: ``(H, W, 3)`` uint8, frame 0. frames: ``(T, H, W, 3)`` uint8, frames 1..T.
        poke: in the pixels of these frames.
    """
    track = track_point([source, *frames], poke.x, poke.y)
    tx, ty = poke.target
    return math.hypot(float(track[-1, 0]) - tx, float(track[-1, 1]) - ty)
