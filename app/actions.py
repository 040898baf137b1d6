"""The window's menus, actions and keyboard shortcuts.

``build_actions(window, slots)`` fills ``window``'s menu bar and connects each action to one of
``slots`` (what each menu entry does, given by the window); the returned ``Actions`` holds the ones
that are enabled and disabled as the session changes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from app import resources
from app.help_text import show_about, show_help

Slot = Callable[..., object]


@dataclass(frozen=True)
class ActionSlots:
    """What the menu entries do."""

    open_image: Slot
    paste_image: Slot
    open_sample: Slot  # (path)
    export: Slot
    undo: Slot
    clear: Slot
    continue_: Slot
    original: Slot
    play: Slot
    set_mode: Slot  # ("poke" | "heatmap")
    fit: Slot
    smooth: Slot  # (on)
    full_resolution: Slot  # (on)
    open_checkpoint: Slot
    load_checkpoint: Slot  # (path)
    parts: Slot
    dock_toggle: QAction  # shows or hides the settings dock


@dataclass
class Actions:
    """The window's actions (each also in a menu)."""

    open: QAction
    paste: QAction
    samples_menu: QMenu
    export: QAction
    quit: QAction
    undo: QAction
    clear: QAction
    continue_: QAction  # continue from the last frame
    original: QAction  # back to the original image
    play: QAction
    mode_poke: QAction
    mode_heat: QAction
    fit: QAction
    smooth: QAction  # checkable: smooth the magnified video instead of crisp model pixels
    full_resolution: QAction  # checkable: videos drawn at the photo's resolution (default) or the model's
    checkpoint: QAction
    bundled: list[QAction]  # load one of the bundled checkpoints, the default first
    parts: QAction  # find the model's parts of the image


def build_actions(window: QMainWindow, slots: ActionSlots) -> Actions:
    """Fill ``window``'s menu bar: File, Edit, View, Model, Help."""
    def action(menu: QMenu, text: str, slot: Callable, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, window)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    w, s = window, slots
    mb = w.menuBar()
    file = mb.addMenu("&File")
    open_ = action(file, "&Open image…", s.open_image, QKeySequence.StandardKey.Open, "Open an image file")
    paste = action(file, "&Paste image", s.paste_image, QKeySequence.StandardKey.Paste,
                   "Use the image on the clipboard")
    samples_menu = file.addMenu("Open &sample")
    for p in resources.sample_images():
        a = QAction(p.stem.replace("_", " "), w)
        a.triggered.connect(lambda _=False, path=str(p): s.open_sample(path))
        samples_menu.addAction(a)
    samples_menu.setEnabled(bool(samples_menu.actions()))
    file.addSeparator()
    export = action(file, "&Export video…", s.export, "Ctrl+E",
                    "Save the generated video (MP4, GIF, PNG frames, frame strip)")
    file.addSeparator()
    quit_ = action(file, "&Quit", w.close, "Ctrl+Q")

    edit = mb.addMenu("&Edit")
    undo = action(edit, "&Undo poke", s.undo, QKeySequence.StandardKey.Undo, "Remove the last poke")
    clear = action(edit, "&Clear pokes", s.clear, "Delete", "Remove all pokes")
    edit.addSeparator()
    continue_ = action(edit, "Continue from &last frame", s.continue_, "Ctrl+L",
                       "Make the last generated frame the new input image")
    original = action(edit, "Back to &original image", s.original, None, "Use the opened image again")

    view = mb.addMenu("&View")
    play = action(view, "&Play / Pause", s.play, "Space", "Play or pause the video")
    play.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    view.addSeparator()
    mode_poke = action(view, "&Poke mode", lambda: s.set_mode("poke"), "P", "Drag on the image to poke")
    mode_heat = action(view, "&Heatmap mode", lambda: s.set_mode("heatmap"), "H",
                       "Click on the image to compute a correlation heatmap")
    view.addSeparator()
    fit = action(view, "&Fit image", s.fit, "Ctrl+0", "Fit the image into the view")
    # toggled, not triggered: restoring the setting (setChecked) must apply it too
    smooth = QAction("&Smooth video pixels", window, checkable=True)
    smooth.setStatusTip("Draw the magnified video smoothed instead of as the model's crisp pixels (exports stay crisp)")
    smooth.setToolTip(smooth.statusTip())
    smooth.toggled.connect(s.smooth)
    view.addAction(smooth)
    full_res = QAction("Video at the photo's &resolution", window, checkable=True, checked=True)
    full_res.setStatusTip("Draw the video at the photo's own resolution from the model's motion (sharp); off: "
                          "the model's own small frames, magnified")
    full_res.setToolTip(full_res.statusTip())
    full_res.toggled.connect(s.full_resolution)
    view.addAction(full_res)
    view.addAction(s.dock_toggle)

    model = mb.addMenu("&Model")
    checkpoint = action(model, "&Open checkpoint…", s.open_checkpoint, "Ctrl+Shift+O",
                        "Load a trained checkpoint")
    # one entry per bundled checkpoint (plants64, figures64), the default first
    bundled = []
    for path in resources.bundled_checkpoints():
        stem = path.name.removesuffix(".safetensors")
        bundled.append(action(model, f"Load bundled &{stem}", lambda _=False, p=str(path): s.load_checkpoint(p), None,
                              f"Load {stem}, a checkpoint that ships with iPoke"))
    if not bundled:
        none = action(model, "No bundled checkpoint", lambda: None, None, "resources/checkpoints holds none")
        none.setEnabled(False)
    model.addSeparator()
    parts = action(model, "Find &parts", s.parts, "Ctrl+Shift+P",
                   "Show the object's moving parts as the model moves them (click one for its heatmap)")

    helpm = mb.addMenu("&Help")
    action(helpm, "&How to use", lambda: show_help(w), QKeySequence.StandardKey.HelpContents)
    action(helpm, "&About iPoke", lambda: show_about(w))
    return Actions(open_, paste, samples_menu, export, quit_, undo, clear, continue_, original, play, mode_poke,
                   mode_heat, fit, smooth, full_res, checkpoint, bundled, parts)
