"""Persistent user settings (window geometry, last folder, last checkpoint, tool settings).

A thin typed layer over ``QSettings``: values come back with the type of their default, and a
value of the wrong type (hand-edited file, older version) falls back to the default instead of
crashing the app. Tests pass their own ``QSettings`` (an ini file in a temporary folder) so they
never touch the user's settings.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

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
    "export_upscale": 4,
    "export_overlay": True,
    "export_format": "mp4",
    "export_folder": "",  # where the last export or saved heatmap went; "" until the first one
    "heatmap_shared_scale": False,
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
            return type(default)(value)
        except (TypeError, ValueError):
            return default

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
