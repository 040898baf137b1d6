"""Persistent user settings (window geometry, last folder, last checkpoint, tool settings).

A thin typed layer over ``QSettings``: values come back with the type of their default, and a
value of the wrong type (hand-edited file, older version) falls back to the default instead of
crashing the app. Tests pass their own ``QSettings`` (an ini file in a temporary folder) so they
never touch the user's settings.

``restore_window`` and ``save_window`` carry the main window's geometry and tool settings over
a restart; ``AppSettings.output_folder`` is where saved files are suggested.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter

from app.resources import ROOT
from ipoke_core.errors import UserError

if TYPE_CHECKING:
    from app.actions import Actions
    from app.heatmap_view import HeatmapView
    from app.player import VideoPlayer
    from app.side_panel import SidePanel
    from ipoke_core.session import ModelSlot

ORGANIZATION = "iPoke"
APPLICATION = "iPoke desktop"

# name -> default; the default's type is the value's type
DEFAULTS: dict[str, Any] = {
    "last_folder": str(Path.home()),
    "last_checkpoint": "",
    "last_image": "",
    "device": "auto",
    "letterbox": False,
    "live_preview": True,
    "heatmap_n": 64,
    "heatmap_mag_lo": 2.0,
    "heatmap_mag_hi": 8.0,
    "heatmap_batch": 16,
    "heatmap_opacity": 0.6,
    "heatmap_colormap": "inferno",
    "fps": 8.0,
    "loop": True,
    "show_overlay": True,
    "smooth_video": False,
    "full_resolution_video": True,
    "export_upscale": 4,
    "export_overlay": True,
    "export_format": "mp4",
    "export_folder": "",  # where the last export or saved heatmap went; "" until the first one
    "heatmap_scale": "absolute",
}


class AppSettings:
    """Typed access to the app's ``QSettings``."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)

    def get(self, key: str) -> Any:
        default = DEFAULTS[key]
        value = self.q.value(key, default)
        try:
            if isinstance(default, bool):  # ini files store booleans as strings
                if isinstance(value, str):
                    return value.strip().lower() in ("1", "true", "yes", "on")
                return bool(value)
            value = type(default)(value)
        except (TypeError, ValueError, OverflowError):
            return default
        if isinstance(value, float) and not math.isfinite(value):  # "nan" reads as a float
            return default
        return value

    def set(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise KeyError(key)
        self.q.setValue(key, value)

    def geometry(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, key: str, value: QByteArray) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()

    def writable(self) -> bool:
        """False when nothing set here will reach the disk (an unwritable HOME or settings folder)."""
        return self.q.isWritable()

    def output_folder(self) -> str:
        """Where exports and saved heatmaps are suggested: the last one's folder, else Videos, Pictures or home.

        Never the install tree: the last *opened* folder is often the bundled samples, which is no
        place for a user's files.
        """
        last = self.get("export_folder")
        if last and Path(last).is_dir():
            return last
        for kind in (QStandardPaths.StandardLocation.MoviesLocation, QStandardPaths.StandardLocation.PicturesLocation,
                     QStandardPaths.StandardLocation.HomeLocation):
            folder = QStandardPaths.writableLocation(kind)
            if folder and Path(folder).is_dir() and not _inside(Path(folder), ROOT):
                return folder
        return str(Path.home())


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


ToolSetting = tuple[str, Callable[[], Any], Callable[[Any], object]]  # (key, read the control, set it)


def tool_settings(side: SidePanel, heatmaps: HeatmapView, player: VideoPlayer, acts: Actions) -> list[ToolSetting]:
    """(key, read the widget, set the widget) for each remembered control, in restore order. The
    controls that are session state (heatmap settings, fps) pass what they are set to on to the
    workspace they are bound to."""
    s, h, p = side, heatmaps, player
    return [
        ("letterbox", s.letterbox.isChecked, s.letterbox.setChecked),
        ("live_preview", s.live_preview.isChecked, s.live_preview.setChecked),
        ("heatmap_n", s.heat_n.value, s.heat_n.setValue),
        ("heatmap_mag_lo", s.heat_lo.value, s.heat_lo.setValue),
        ("heatmap_mag_hi", s.heat_hi.value, s.heat_hi.setValue),
        ("heatmap_batch", s.heat_batch.value, s.heat_batch.setValue),
        ("heatmap_opacity", lambda: h.opacity.value() / 100, h.set_opacity),
        ("heatmap_colormap", lambda: h.colormap_name, h.set_colormap),
        ("heatmap_scale", h.scale_mode, h.set_scale_mode),
        ("fps", p.fps.value, p.fps.setValue),
        ("loop", p.loop.isChecked, p.loop.setChecked),
        ("show_overlay", p.overlay.isChecked, p.overlay.setChecked),
        ("smooth_video", acts.smooth.isChecked, acts.smooth.setChecked),
        ("full_resolution_video", acts.full_resolution.isChecked, acts.full_resolution.setChecked),
    ]


def restore_window(w: QMainWindow, splitter: QSplitter, tools: list[ToolSetting], st: AppSettings,
                   default_size: tuple[int, int]) -> tuple[list[str], bool]:
    """Geometry, dock state, splitter and tool settings as they were at the last close. Returns the
    keys of the saved settings that were unusable (defaults used) and whether settings cannot be saved."""
    geometry = st.geometry("geometry")
    if geometry is None or not w.restoreGeometry(geometry):
        w.resize(*default_size)
    state = st.geometry("window_state")
    if state is not None:
        w.restoreState(state)
    split = st.geometry("splitter")
    if split is None or not splitter.restoreState(split):
        splitter.setSizes([10_000, 10_000])  # half and half
    dropped = []
    for key, _, set_value in tools:
        # a settings file is user data: an unknown colormap or a value out of range must not stop the app
        # from starting (issue 33); the bad value is dropped, the default used, and the user told once
        try:
            set_value(st.get(key))
        except (UserError, ValueError, TypeError, OSError):
            dropped.append(key)
            set_value(DEFAULTS[key])
    notes = [f"ignored unusable saved setting(s): {', '.join(dropped)} (defaults used)"] if dropped else []
    # said once, at the start: otherwise the app forgets every choice at each close without a word
    unsaved = not st.writable()
    if unsaved:
        why = f"settings will not be saved: {st.q.fileName()} is not writable (check HOME)"
        notes.append(why)
        # a status message is gone at the next one (the model loading): this one stays in the corner
        note = QLabel("Settings not saved")
        note.setObjectName("settings_unsaved")
        note.setToolTip(why)
        w.statusBar().addPermanentWidget(note)
    if notes:
        w.statusBar().showMessage("; ".join(notes), 15_000)
    return dropped, unsaved


def save_window(w: QMainWindow, splitter: QSplitter, tools: list[ToolSetting], st: AppSettings,
                slot: ModelSlot) -> None:
    """What ``restore_window`` reads, plus the device and the loaded checkpoint (the model ``slot``)."""
    st.set_geometry("geometry", w.saveGeometry())
    st.set_geometry("window_state", w.saveState())
    st.set_geometry("splitter", splitter.saveState())
    for key, value, _ in tools:
        st.set(key, value())
    st.set("device", slot.device)
    if slot.path:
        st.set("last_checkpoint", slot.path)
    st.sync()
