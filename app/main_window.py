"""The main window: builds the widgets and binds them to the workspace (``ipoke_core.workspace``).

State and its rules live in the workspace (the image and its framing, the pokes, the video, the
"continue" steps, the heatmaps); the widgets show it and report what the user does, and this
window passes one to the other and runs the model's work off the UI thread. Everything that
touches the model runs in the ``model`` lane (one worker thread, so the network is never used by
two threads at once); file loading and export run in the ``io`` lane. Each job carries its own
result handlers; a poke result that is no longer the latest request is dropped, so the player
always shows the newest poke, and the workspace refuses a result for an image no longer shown.

Cohesive pieces live in their own modules: the menus (``app.actions``), what the window says
(``app.messages``), opening images (``app.image_input``), loading checkpoints
(``app.checkpoint_loader``), heatmaps (``app.heatmap_flow``), parts (``app.parts_flow``), the status bar (``app.status_bar``)
and the remembered window state (``app.settings``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QLabel, QMainWindow, QMessageBox, QSplitter,
    QTabWidget, QVBoxLayout, QWidget,
)

from app import messages, resources
from app.actions import build_actions
from app.canvas import PokeCanvas
from app.checkpoint_loader import CheckpointLoader, available_devices
from app.export_dialog import ExportDialog, ExportRequest
from app.heatmap_flow import HeatmapFlow
from app.heatmap_view import HeatmapView
from app.image_input import ImageInput
from app.model_info import PokerFactory, load_poker
from app.parts_flow import PartsFlow
from app.parts_view import PartsView
from app.player import VideoPlayer
from app.settings import AppSettings, restore_window, save_window
from app.side_panel import SidePanel
from app.status_bar import ModelStatus
from app.widgets import StableHintLabel, muted_text_style
from app.workers import Dispatcher, Handlers, Job, Lane
from ipoke_core.errors import UserError
from ipoke_core.poke import Poke, PokeError
from ipoke_core.session import HEATMAPS, IMAGE, PARTS, POKES, VIDEO, Change, PokeRequest, Workspace

if TYPE_CHECKING:
    import numpy as np

    from ipoke_core.image import Framing
    from ipoke_core.inference import Poker, Video

__all__ = ["MainWindow", "application", "load_poker", "DEFAULT_SIZE"]

# at most one live-preview request per this many milliseconds while dragging
PREVIEW_INTERVAL_MS = 60
# the window's first size; every control stays usable from 800×600 (tests/test_app_layout.py) up
DEFAULT_SIZE = (1320, 780)
# narrower than this, the Settings dock becomes a tab beside the video (issue 34 item 6: at 800 px it
# took 36 % of the width and left the input ~205 px and the heatmaps thumbnails)
NARROW_WIDTH = 1000

class MainWindow(QMainWindow):
    """The iPoke desktop window."""

    def __init__(self, settings: AppSettings | None = None, poker_factory: PokerFactory = load_poker,
                 devices: list[str] | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.poker_factory = poker_factory
        self.workspace = Workspace()  # everything the user works on; this window shows it
        self.checkpoints = CheckpointLoader(self)  # the loaded checkpoint and the device
        self.heatmap_flow = HeatmapFlow(self)  # heatmap jobs and files
        self.parts_flow = PartsFlow(self)  # the model's parts: job, view, files
        self.images = ImageInput(self)  # opening, pasting and dropping images
        self._preview_pokes: list[Poke] | None = None

        self.setWindowTitle("iPoke")
        icon = resources.icon_path("ipoke.svg")
        if icon:
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)

        self.model_lane = Lane("model", self)
        self.io_lane = Lane("io", self)
        self.dispatcher = Dispatcher([self.model_lane, self.io_lane], self)  # each job's own handlers hear of it
        self.model_lane.busyChanged.connect(self._on_model_busy)  # a window slot: queued to the UI thread

        self._build_widgets()
        self.workspace.subscribe(self._on_workspace)
        self.acts = build_actions(self)  # menus and shortcuts
        restore_window(self, self.settings, DEFAULT_SIZE)
        self.checkpoints.set_devices(devices if devices is not None else available_devices(),
                                     self.settings.get("device"))
        self.side.set_samples(resources.sample_images())
        self._update_banner()
        self._update_enabled()
        self._update_status()

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_INTERVAL_MS)
        self._preview_timer.timeout.connect(self._send_preview)

    # ================================================================================ building
    def _build_widgets(self) -> None:
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.hide()
        self.canvas = PokeCanvas()
        self.canvas.pokesChanged.connect(self.workspace.set_pokes)
        self.canvas.pokePreview.connect(self._on_poke_preview)
        self.canvas.locationPicked.connect(self.heatmap_flow.on_location_picked)
        self.canvas.framingChanged.connect(self.workspace.set_framing)
        self.canvas.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        # as tall as the longest hint at the current width: every line is shown, whatever the window's
        # width, and a hint that changes length does not resize (and refit) the canvas
        self.hint = StableHintLabel(messages.HINTS.values())
        self.hint.setStyleSheet(muted_text_style())
        self.hint.setContentsMargins(4, 2, 4, 2)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(2)
        title = QLabel("<b>Input image</b>")
        left_layout.addWidget(title)
        left_layout.addWidget(self.canvas, 1)
        left_layout.addWidget(self.hint)

        self.player = VideoPlayer()
        self.heatmaps = HeatmapView()
        self.heatmaps.cancelRequested.connect(lambda: self.model_lane.cancel("heatmap"))
        self.heatmaps.savePngRequested.connect(self.heatmap_flow.save_png)
        self.heatmaps.saveNpyRequested.connect(self.heatmap_flow.save_npy)
        self.heatmaps.clearRequested.connect(self.heatmap_flow.clear)
        self.parts_view = PartsView()
        self.parts_view.computeRequested.connect(self.compute_parts)
        self.parts_view.cancelRequested.connect(lambda: self.model_lane.cancel("parts"))
        self.parts_view.savePngRequested.connect(self.parts_flow.save_png)
        self.parts_view.saveNpyRequested.connect(self.parts_flow.save_npy)
        self.parts_view.partClicked.connect(self.parts_flow.on_part_clicked)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.player, "Generated video")
        self.tabs.addTab(self.heatmaps, "Heatmaps")
        self.tabs.addTab(self.parts_view, "Parts")
        self.tabs.setTabToolTip(0, "The video generated from your poke (frame 0 is the input)")
        self.tabs.setTabToolTip(1, "Which pixels move together with a poked point (paper Fig. 5)")
        self.tabs.setTabToolTip(2, "The object's moving parts as the model moves them; click one for its heatmap")
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 2)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.side = SidePanel()
        self.dock = QDockWidget("Settings", self)
        self.dock.setObjectName("settings-dock")
        self.dock.setWidget(self.side)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                              | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        s = self.side
        s.open_checkpoint.clicked.connect(self.checkpoints.open_dialog)
        s.open_image.clicked.connect(self.images.open_dialog)
        s.paste_image.clicked.connect(self.images.paste)
        s.sampleChosen.connect(self.open_sample)
        s.letterbox.toggled.connect(self._on_letterbox)
        s.continue_button.clicked.connect(self.continue_from_last_frame)
        s.original_button.clicked.connect(self.back_to_original)
        s.mode_poke.toggled.connect(lambda on: on and self.set_mode("poke"))
        s.mode_heatmap.toggled.connect(lambda on: on and self.set_mode("heatmap"))
        s.undo.clicked.connect(self.undo_poke)
        s.clear.clicked.connect(self.clear_pokes)
        s.export_video.clicked.connect(self.export_dialog)
        s.find_parts.clicked.connect(self.compute_parts)

        self.status = ModelStatus(self.statusBar())

    def save_settings(self) -> None:
        save_window(self, self.settings)

    def start(self, checkpoint: bool = True, image: bool = True) -> None:
        """After ``show()``: load the last (or bundled) checkpoint and the last image (or a sample)."""
        path = self.checkpoint_path
        if checkpoint:
            last = self.settings.get("last_checkpoint")
            default = resources.default_checkpoint()
            path = last if last and Path(last).is_file() else (str(default) if default else "")
            if path:
                self.load_checkpoint(path)
        if image:
            last_image = self.settings.get("last_image")
            sample = resources.sample_for(path)  # a plant for the plants model
            if last_image and Path(last_image).is_file():
                self.open_image(last_image)
            elif sample is not None:
                self.open_image(str(sample))

    # ================================================================================ checkpoint
    @property
    def checkpoint_path(self) -> str:
        return self.checkpoints.path

    def current_device(self) -> str:
        return self.checkpoints.current_device()

    def load_checkpoint(self, path: str, device: str | None = None) -> Job:
        """Load a checkpoint in the worker; on failure an error dialog, and the current model stays."""
        return self.checkpoints.load(path, device)

    # ================================================================================ images
    def open_image(self, path: str) -> Job:
        """Decode ``path`` in the io worker, then show it."""
        return self.images.open(path)

    def open_sample(self, path: str) -> Job:
        """Open a bundled sample with the bundled model made for its kind of object: a figure sample
        switches a loaded bundled plants model to the figures one (a user's own checkpoint stays)."""
        wanted = resources.checkpoint_for_sample(path)
        current = self.checkpoints.path
        if wanted is not None and resources.is_bundled_checkpoint(current) \
                and Path(current).resolve() != wanted.resolve():
            self.load_checkpoint(str(wanted))
            self.statusBar().showMessage(f"Loading {wanted.stem}, the bundled model made for {Path(path).stem}", 5000)
        return self.open_image(path)

    def set_image(self, image: np.ndarray, name: str, path: str | None = None) -> None:
        """Make ``image`` (H, W, 3) uint8 the opened image: new framing, no pokes, no video, no heatmaps.
        ``path``: the file it came from (None when pasted); the gallery highlights it if it is a sample."""
        self.workspace.open_image(image, name)
        self.side.mark_sample(path)

    def continue_from_last_frame(self) -> None:
        """The last generated frame becomes the new source (explore longer motions)."""
        if self.video is None:
            self.statusBar().showMessage("Poke first: there is no generated video to continue from.", 5000)
            return
        self.workspace.continue_from_last_frame()
        self.statusBar().showMessage("The last frame is the new input: poke again to continue the motion.", 6000)

    def back_to_original(self) -> None:
        self.workspace.back_to_original()

    def _on_letterbox(self, on: bool) -> None:
        self.settings.set("letterbox", on)
        self.workspace.set_letterbox(on)

    # drag and drop ------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self.images.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if self.images.open_mime(event.mimeData(), "drop"):
            event.acceptProposedAction()

    # ================================================================================ the workspace
    @property
    def poker(self) -> Poker | None:
        return self.workspace.poker

    @property
    def image(self) -> np.ndarray | None:
        return self.workspace.image

    @property
    def image_name(self) -> str:
        return self.workspace.title

    @property
    def framing(self) -> Framing | None:
        return self.workspace.framing

    @property
    def video(self) -> Video | None:
        return self.workspace.video

    def _on_workspace(self, change: Change) -> None:
        """Show what changed in the workspace; a new image, square, pokes or model asks for a new video."""
        ws = self.workspace
        if IMAGE in change:
            self.model_lane.cancel("poke")
            self.canvas.set_image(ws.image, ws.framing)
            h, w = ws.image.shape[:2]
            self.setWindowTitle(f"iPoke — {ws.title}")
            self.statusBar().showMessage(f"{ws.title}: {w}×{h} px", 4000)
        elif change.video_inputs:
            self.canvas.set_framing(ws.framing)
        if POKES in change:
            self.canvas.show_pokes(ws.pokes)
        if HEATMAPS in change:
            self.heatmap_flow.show()
        if PARTS in change:
            self.parts_flow.show()
        if VIDEO in change:
            self._show_video()
        if change.note:
            self.statusBar().showMessage(change.note, 5000)
        if change.video_inputs and IMAGE not in change:
            self._preview_timer.stop()
            self._preview_pokes = None
            self._generate()
        self._update_enabled()

    # ================================================================================ poking
    def set_mode(self, mode: str) -> None:
        self.canvas.set_mode(mode)
        (self.side.mode_poke if mode == "poke" else self.side.mode_heatmap).setChecked(True)
        if mode == "poke":
            self.tabs.setCurrentWidget(self.player)
        elif self.tabs.currentWidget() is self.player:  # the parts tab stays: clicks there are heatmaps too
            self.tabs.setCurrentWidget(self.heatmaps)
        self._update_hint()

    def set_full_resolution(self, on: bool) -> None:
        """Videos at the photo's resolution (on) or the model's; the current one is made again to show it."""
        if on == self.workspace.full_resolution:
            return
        self.workspace.set_full_resolution(on)
        if self.video is not None:
            self._generate()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.place_settings()

    def place_settings(self, narrow: bool | None = None) -> None:
        """The Settings panel in its dock, or, in a narrow window, in a tab of its own beside the video.
        A floating or closed dock is the user's choice and stays as it is."""
        narrow = self.width() < NARROW_WIDTH if narrow is None else narrow
        in_tab = self.tabs.indexOf(self.side) >= 0
        if narrow and not in_tab and self.dock.isVisible() and not self.dock.isFloating():
            self.dock.hide()
            self.tabs.addTab(self.side, "Settings")
        elif not narrow and in_tab:
            showing = self.tabs.currentWidget() is self.side
            self.tabs.removeTab(self.tabs.indexOf(self.side))
            self.dock.setWidget(self.side)
            self.dock.show()
            if showing:
                self.tabs.setCurrentWidget(self.player)

    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.side:  # the settings tab of a narrow window: no mode of its own
            return
        mode = "poke" if self.tabs.widget(index) is self.player else "heatmap"
        if mode != self.canvas.mode:
            self.set_mode(mode)

    def undo_poke(self) -> None:
        if not self.workspace.undo_poke():
            self.statusBar().showMessage("No poke to undo.", 3000)

    def clear_pokes(self) -> None:
        self.workspace.clear_pokes()

    def _on_poke_preview(self, pokes: list[Poke]) -> None:
        if not self.side.live_preview.isChecked() or self.poker is None:
            return
        self._preview_pokes = pokes
        if not self._preview_timer.isActive():
            self._preview_timer.start()

    def _send_preview(self) -> None:
        if self._preview_pokes is not None and self.canvas.dragging:  # still dragging
            self._generate(self._preview_pokes, preview=True)
        self._preview_pokes = None

    def _generate(self, pokes: list[Poke] | None = None, preview: bool = False) -> Job | None:
        """Ask the worker for the video of ``pokes`` (default: the workspace's); the newest request wins."""
        request = self.workspace.poke_request(pokes, preview)
        if request is None:
            return None
        if not request.pokes:  # no pokes: the video goes
            self.model_lane.cancel("poke")
        else:
            self.player.set_busy("updating preview…" if preview else "generating…")
        return self.model_lane.run("poke", request.run, payload=request, coalesce=True, handlers=Handlers(
            finished=self._video_ready, failed=self._poke_failed, cancelled=lambda job: self.player.set_busy("")))

    def _video_ready(self, job: Job, video: Video | None) -> None:
        self.player.set_busy("")
        request: PokeRequest = job.payload
        if not self.model_lane.is_latest(job):  # stale previews are dropped
            return
        if (self.workspace.accept_video(request, video) and video is not None and not request.preview
                and self.tabs.currentWidget() is not self.player):
            self.set_mode("poke")
        self._update_status()

    def _show_video(self) -> None:
        video = self.video
        if video is None:
            self.player.clear()
        else:
            # drawn at the photo's resolution in the worker (PokeRequest.run) when the workspace asks for it
            full = self.workspace.full_resolution_video()
            source, frames = (video.source, video.frames) if full is None else full
            self.player.set_video(source, frames, video.pokes, still=video.is_still, autoplay=True,
                                  movement=video.movement(), resolution=video.resolution)

    def _poke_failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.player.set_busy("")
        if not self.model_lane.is_latest(job):
            return
        if isinstance(error, PokeError):
            self.statusBar().showMessage(f"Poke not possible: {error}", 6000)
        elif job.payload.preview:
            self.statusBar().showMessage(f"Preview failed: {error}", 6000)
        else:
            self.show_error("Video generation failed", str(error), None if isinstance(error, UserError) else trace)

    # ================================================================================ heatmaps
    def compute_heatmap(self, x: float, y: float) -> Job:
        """Queue a correlation heatmap for source pixel ``(x, y)``."""
        return self.heatmap_flow.compute(x, y)

    # ================================================================================ parts
    def compute_parts(self) -> Job | None:
        """Queue the model's parts of the current image (in the model lane; the parts tab shows them)."""
        return self.parts_flow.compute()

    # ================================================================================ export
    def export_dialog(self) -> None:
        if self.video is None:
            self.statusBar().showMessage("Nothing to export yet: poke the image first.", 5000)
            return
        st = self.settings
        full = self.workspace.full_resolution_video()
        dialog = ExportDialog(self.settings.output_folder(), self.workspace.export_stem, self.video.source.shape[0],
                              len(self.video.frames), st.get("export_format"), st.get("export_upscale"),
                              st.get("export_overlay"), self, full_side=None if full is None else full[0].shape[0])
        if dialog.exec():
            request = dialog.request()
            st.set("export_format", request.kind)
            st.set("export_upscale", request.upscale)
            st.set("export_overlay", request.overlay)
            st.set("export_folder", str(request.path.parent))
            self.export(request)

    def export(self, request: ExportRequest) -> Job:
        """Write the current video as ``request`` says, in the io worker (the path's suffix picks the format)."""
        export = self.workspace.export_request(request.path, request.upscale, request.overlay, self.player.fps.value())
        self.statusBar().showMessage(f"Exporting {request.path.name}…")
        return self.io_lane.run("export", export.run, payload={"request": request}, handlers=Handlers(
            finished=lambda job, path: self.statusBar().showMessage(f"Saved {path}", 8000),
            failed=self._export_failed))

    def _export_failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.statusBar().showMessage("Export failed.", 5000)
        self.show_error("Export failed", str(error), None if isinstance(error, UserError) else trace)

    # ================================================================================ chrome
    def _on_model_busy(self, busy: bool) -> None:
        self.status.set_busy(busy)

    def show_error(self, title: str, text: str, details: str | None = None) -> None:
        """A modal error dialog (tests replace ``QMessageBox.critical``-like calls through this method)."""
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        box.exec()

    def _update_banner(self) -> None:
        b = messages.banner(self.poker, self.checkpoints.loading)
        if b is not None:
            self.banner.setText(b.text)
            self.banner.setStyleSheet(b.style + messages.BANNER_BOX)
        self.banner.setVisible(b is not None)

    def _update_status(self) -> None:
        self.status.show(messages.status_fields(self.poker, self.checkpoint_path, self.workspace.last_inference_ms))

    def _update_enabled(self) -> None:
        has_model = self.poker is not None
        has_image = self.image is not None
        has_video = self.video is not None
        self.canvas.enabled_poking = has_model
        for w in (self.acts.export, self.side.export_video):
            w.setEnabled(has_video)
        for w in (self.acts.continue_, self.side.continue_button):
            w.setEnabled(has_video)
        back = has_image and not self.workspace.is_original
        self.acts.original.setEnabled(back)
        self.side.original_button.setEnabled(back)
        has_pokes = bool(self.workspace.pokes)
        for w in (self.acts.undo, self.acts.clear, self.side.undo, self.side.clear):
            w.setEnabled(has_pokes)
        self.side.letterbox.setEnabled(self.workspace.can_letterbox)
        can_parts = has_model and has_image
        for w in (self.acts.parts, self.side.find_parts):
            w.setEnabled(can_parts)
        self._update_hint()

    def _update_hint(self) -> None:
        loading = self.checkpoints.loading and self.poker is None
        self.canvas.disabled_message = messages.disabled_message(loading)
        self.hint.setText(messages.hint(self.image is not None, loading, self.poker is not None, self.canvas.mode))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(*DEFAULT_SIZE)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        # the window goes at once: the workers are told to stop, nobody waits for a forward pass here
        self.save_settings()
        self.stop_workers()
        super().closeEvent(event)

    def stop_workers(self) -> None:
        """Cancel all jobs and tell both worker threads to end, without waiting; results still on
        their way are ignored from now on."""
        self.dispatcher.close()  # results still on their way are ignored
        self._preview_timer.stop()
        self.player.pause()
        self.model_lane.stop()
        self.io_lane.stop()

    def shutdown(self, wait_ms: int = 5000) -> bool:
        """Stop the worker threads and wait for them; False if one is still running after ``wait_ms``."""
        self.stop_workers()
        return self.model_lane.wait(wait_ms) and self.io_lane.wait(wait_ms)


def application() -> QApplication:
    """The running QApplication, created with iPoke's names if needed."""
    from app.settings import APPLICATION, ORGANIZATION

    app = QApplication.instance() or QApplication([])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    return app
