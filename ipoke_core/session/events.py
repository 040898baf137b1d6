"""The session's change events: plain Python, no Qt. A view subscribes once and is told, after every
change, which parts of the session changed (``Change``); it then reads them from the session."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# what a user works on (the workspace's content)
IMAGE, FRAMING, POKES, VIDEO, HEATMAPS, PARTS = "image", "framing", "pokes", "video", "heatmaps", "parts"
MODEL = "model"  # a new model is in use (its pixel grid may differ)
# how the user works (the session's controls)
MODE = "mode"  # poke or heatmap
SLOT = "model_slot"  # the checkpoint path, the device, whether a load is under way
HEATMAP_SETTINGS = "heatmap_settings"  # N, batch, seed, poke lengths of the next heatmap
PLAYBACK = "playback"  # the frames per second a video plays and exports at
# a change of any of these makes the current video out of date
VIDEO_INPUTS = frozenset({IMAGE, FRAMING, POKES, MODEL})


@dataclass(frozen=True)
class Change:
    """What one session operation changed (names above) and an optional note for the user."""

    what: frozenset[str]
    note: str = ""

    def __contains__(self, name: str) -> bool:
        return name in self.what

    @property
    def video_inputs(self) -> bool:
        """True when the video no longer matches the image, framing, pokes or model."""
        return bool(self.what & VIDEO_INPUTS)


Listener = Callable[[Change], object]


class Events:
    """``subscribe(listener)``; every change calls each listener once with a ``Change``."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(change)`` after every change."""
        self._listeners.append(listener)

    def _emit(self, *what: str, note: str = "") -> None:
        change = Change(frozenset(what), note)
        for listener in list(self._listeners):
            listener(change)
