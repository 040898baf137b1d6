"""The window's widgets bound to the session (``ipoke_core.session.Workspace``), napari-style: what
the user sets in a widget goes to the workspace, and each workspace change event is shown in the
widgets (the canvas, the mode buttons and tabs, the heatmap settings, the playback speed, the model
line, banner, hint and status fields, which actions are enabled, the window title)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app import messages
from app.model_info import model_summary
from ipoke_core.session import HEATMAP_SETTINGS, IMAGE, MODE, MODEL, PLAYBACK, POKES, SLOT, VIDEO

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

    from app.actions import Actions
    from app.window_layout import Views
    from ipoke_core.session import Change, Workspace


class SessionBindings:
    """Binds ``views`` and ``acts`` of ``window`` to ``workspace`` (both ways)."""

    def __init__(self, workspace: Workspace, window: QMainWindow, views: Views, acts: Actions) -> None:
        self.ws, self.window, self.v, self.acts = workspace, window, views, acts
        canvas, side, v = views.canvas, views.side, views
        canvas.pokesChanged.connect(workspace.set_pokes)
        canvas.framingChanged.connect(workspace.set_framing)
        canvas.message.connect(lambda m: window.statusBar().showMessage(m, 5000))
        side.mode_poke.toggled.connect(lambda on: on and self.set_mode("poke"))
        side.mode_heatmap.toggled.connect(lambda on: on and self.set_mode("heatmap"))
        v.tabs.currentChanged.connect(self._on_tab_changed)
        for box in (side.heat_n, side.heat_batch, side.heat_seed, side.heat_lo, side.heat_hi):
            box.valueChanged.connect(self._heatmap_settings_from_widgets)
        v.player.fps.valueChanged.connect(workspace.set_fps)
        self._heatmap_settings_from_widgets()
        workspace.set_fps(v.player.fps.value())
        workspace.subscribe(self._on_change)

    # ---- widgets -> workspace --------------------------------------------------------------------
    def _heatmap_settings_from_widgets(self, *_) -> None:
        s = self.v.side
        self.ws.set_heatmap_settings(n=s.heat_n.value(), batch_size=s.heat_batch.value(), seed=s.heat_seed.value(),
                                     magnitude_range=(s.heat_lo.value(), s.heat_hi.value()))

    def set_mode(self, mode: str) -> None:
        if mode == self.ws.mode:
            self.show_mode()  # the widgets follow the workspace even when it did not change
        else:
            self.ws.set_mode(mode)

    def _on_tab_changed(self, index: int) -> None:
        tabs = self.v.tabs
        if tabs.widget(index) is self.v.side:  # the settings tab of a narrow window: no mode of its own
            return
        # the parts tab is heatmap mode: a click on a part is a heatmap
        self.set_mode("poke" if tabs.widget(index) is self.v.player else "heatmap")

    # ---- workspace -> widgets --------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        ws, v = self.ws, self.v
        if IMAGE in change:
            v.canvas.set_image(ws.image, ws.framing)
            v.side.mark_sample(ws.opened_path)
            h, w = ws.image.shape[:2]
            self.window.setWindowTitle(f"iPoke — {ws.title}")
            self.window.statusBar().showMessage(f"{ws.title}: {w}×{h} px", 4000)
        elif change.video_inputs:
            v.canvas.set_framing(ws.framing)
        if POKES in change:
            v.canvas.show_pokes(ws.pokes)
        if MODE in change:
            self.show_mode()
        if HEATMAP_SETTINGS in change:
            self.show_heatmap_settings()
        if PLAYBACK in change and ws.fps is not None and ws.fps != v.player.fps.value():
            v.player.fps.setValue(ws.fps)
        if MODEL in change and ws.poker is not None:
            v.side.model_info.setText(model_summary(ws.poker))
        if SLOT in change and ws.slot.path:
            v.side.checkpoint_label.setText(Path(ws.slot.path).name)
            v.side.checkpoint_label.setToolTip(ws.slot.path)
        if change.what & {SLOT, MODEL}:
            self.show_banner()
        if change.what & {SLOT, MODEL, VIDEO}:
            self.show_status()
        if change.note:
            self.window.statusBar().showMessage(change.note, 5000)
        self.show_enabled()

    def show_mode(self) -> None:
        mode, v = self.ws.mode, self.v
        v.canvas.set_mode(mode)
        (v.side.mode_poke if mode == "poke" else v.side.mode_heatmap).setChecked(True)
        if mode == "poke":
            v.tabs.setCurrentWidget(v.player)
        elif v.tabs.currentWidget() is v.player:  # the parts tab stays: clicks there are heatmaps too
            v.tabs.setCurrentWidget(v.heatmaps)
        self.show_hint()

    def show_heatmap_settings(self) -> None:
        s, hs = self.v.side, self.ws.heatmap_settings
        lo, hi = hs.magnitude_range or (s.heat_lo.value(), s.heat_hi.value())
        for box, value in ((s.heat_n, hs.n), (s.heat_batch, hs.batch_size), (s.heat_seed, hs.seed),
                           (s.heat_lo, lo), (s.heat_hi, hi)):
            if box.value() != value:
                box.setValue(value)

    def show_banner(self) -> None:
        b = messages.banner(self.ws.poker, self.ws.slot.loading)
        if b is not None:
            self.v.banner.setText(b.text)
            self.v.banner.setStyleSheet(b.style + messages.BANNER_BOX)
        self.v.banner.setVisible(b is not None)

    def show_status(self) -> None:
        ws = self.ws
        self.v.status.show(messages.status_fields(ws.poker, ws.slot.path, ws.last_inference_ms))

    def show_enabled(self) -> None:
        ws, v, acts = self.ws, self.v, self.acts
        has_model, has_image, has_video = ws.poker is not None, ws.image is not None, ws.video is not None
        v.canvas.enabled_poking = has_model
        for w in (acts.export, v.side.export_video, acts.continue_, v.side.continue_button):
            w.setEnabled(has_video)
        back = has_image and not ws.is_original
        acts.original.setEnabled(back)
        v.side.original_button.setEnabled(back)
        for w in (acts.undo, acts.clear, v.side.undo, v.side.clear):
            w.setEnabled(bool(ws.pokes))
        v.side.letterbox.setEnabled(ws.can_letterbox)
        for w in (acts.parts, v.side.find_parts):
            w.setEnabled(has_model and has_image)
        self.show_hint()

    def show_hint(self) -> None:
        ws = self.ws
        loading = ws.slot.loading and ws.poker is None
        self.v.canvas.disabled_message = messages.disabled_message(loading)
        self.v.hint.setText(messages.hint(ws.image is not None, loading, ws.poker is not None, ws.mode))

    def show_all(self) -> None:
        self.show_banner()
        self.show_enabled()
        self.show_status()
