"""How the user works, as session state (not widget state): the mode, the model slot (checkpoint
path, device, a load under way), the next heatmap's settings and the playback speed. The app's
widgets show these and write them back; the requests read them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ipoke_core.analysis.heatmap import DEFAULT_BATCH
from ipoke_core.session.events import HEATMAP_SETTINGS, MODE, PLAYBACK, SLOT, Events

MODES = ("poke", "heatmap")  # drag pokes / click heatmap locations


@dataclass(frozen=True)
class ModelSlot:
    """Which checkpoint is loaded (``path``, "" until one is), where it runs, and whether a load runs."""

    path: str = ""
    device: str = "auto"
    loading: bool = False


@dataclass(frozen=True)
class HeatmapSettings:
    """What the next heatmap is made of: ``n`` random pokes, ``batch_size`` a pass, their ``seed`` and
    lengths (``magnitude_range`` in model pixels; None: the checkpoint's training range)."""

    n: int = 64
    batch_size: int = DEFAULT_BATCH
    seed: int = 0
    magnitude_range: tuple[float, float] | None = None


class Controls(Events):
    """The session's controls; each setter announces its change (names in ``events``) if there is one."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "poke"
        self.slot = ModelSlot()
        self.heatmap_settings = HeatmapSettings()
        self.fps: float | None = None  # None: the video's own rate

    def set_mode(self, mode: str) -> None:
        """``"poke"`` (a drag pokes) or ``"heatmap"`` (a click picks a heatmap location)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if mode != self.mode:
            self.mode = mode
            self._emit(MODE)

    def set_heatmap_settings(self, **changes) -> None:
        """Change some of ``HeatmapSettings``' fields (``n=128``, ``magnitude_range=(1, 4)``…)."""
        new = dataclasses.replace(self.heatmap_settings, **changes)
        if new != self.heatmap_settings:
            self.heatmap_settings = new
            self._emit(HEATMAP_SETTINGS)

    def set_fps(self, fps: float | None) -> None:
        """Frames per second of playback and export (None: the video's own)."""
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive, not {fps}")
        if fps != self.fps:
            self.fps = fps
            self._emit(PLAYBACK)

    def set_device(self, device: str) -> None:
        """Where the next model load runs (``auto``, ``cpu``, ``cuda``)."""
        self._set_slot(device=device)

    def _set_slot(self, **changes) -> bool:
        new = dataclasses.replace(self.slot, **changes)
        if new == self.slot:
            return False
        self.slot = new
        self._emit(SLOT)
        return True
