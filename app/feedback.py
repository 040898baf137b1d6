"""What an app helper may tell the user, without knowing the window: a status-bar line, an error
dialog, a view brought to the front, the remembered settings and the parent of its dialogs.

The window makes one ``Feedback`` and hands it to each helper (heatmaps, parts, images, checkpoints,
pokes, export) together with the workspace and a worker lane; no helper imports the window.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStatusBar, QWidget

    from app.settings import AppSettings


@dataclass(frozen=True)
class Feedback:
    parent: QWidget  # the parent of dialogs
    settings: AppSettings
    status_bar: QStatusBar
    show_error: Callable[[str, str, str | None], None]  # a modal error dialog (title, text, details)
    reveal: Callable[[QWidget], None]  # bring a view to the front (its tab)

    def say(self, text: str, ms: int = 0) -> None:
        """A status-bar line for ``ms`` milliseconds (0: until the next one)."""
        self.status_bar.showMessage(text, ms)

    def clear(self) -> None:
        self.status_bar.clearMessage()

    def error(self, title: str, text: str, details: str | None = None) -> None:
        self.show_error(title, text, details)
