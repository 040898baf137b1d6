"""Saving a result from the app: ask where (in the last export folder), remember the folder, report failures.

One home for what the heatmap and parts views both do when the user saves a PNG or an array.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from ipoke_core.errors import UserError

if TYPE_CHECKING:
    from app.feedback import Feedback


def ask_save_path(feedback: Feedback, title: str, name: str, filter_: str) -> str:
    """A save dialog starting at ``name`` in the last export folder; the chosen folder is remembered.
    Returns the path, or "" when the user cancelled."""
    settings = feedback.settings
    path, _ = QFileDialog.getSaveFileName(feedback.parent, title, str(Path(settings.output_folder()) / name), filter_)
    if path:
        settings.set("export_folder", str(Path(path).parent))
    return path


def save_or_report(feedback: Feedback, what: str, save: Callable[[], object]) -> bool:
    """Run ``save``; a bad path or a full disk becomes one error dialog ("Cannot save the <what>")."""
    try:
        save()
    except (UserError, OSError) as e:
        feedback.error(f"Cannot save the {what}", str(e))
        return False
    return True
