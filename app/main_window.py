"""The main window: makes the session (``ipoke_core.session.Workspace``), the worker lanes, the
widgets (``app.window_layout``) and the pieces that connect them, and wires them once.

State and its rules live in the workspace; the widgets show it and report what the user does
(``app.bindings``); each kind of model or file work has its own piece that takes the workspace,
a worker lane and a ``Feedback`` (``app.feedback``), never this window: videos
(``app.poke_flow``), heatmaps (``app.heatmap_flow``), parts (``app.parts_flow``), images
(``app.image_input``), checkpoints (``app.checkpoint_loader``), export (``app.export_flow``).
Everything that touches the model runs in the ``model`` lane (one worker thread, so the network
is never used by two threads at once); file loading and export run in the ``io`` lane. The menus
are ``app.actions``, the remembered window state ``app.settings``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from app import resources
from app.actions import ActionSlots, build_actions
from app.bindings import SessionBindings
from app.checkpoint_loader import CheckpointLoader, available_devices
from app.export_flow import ExportFlow
from app.feedback import Feedback
from app.heatmap_flow import HeatmapFlow
from app.image_input import ImageInput
from app.model_info import PokerFactory, load_poker
from app.parts_flow import PartsFlow
from app.poke_flow import PokeFlow
from app.settings import AppSettings, restore_window, save_window, tool_settings
from app.window_layout import build_views
from app.workers import Dispatcher, Job, Lane
from ipoke_core.session import Workspace

if TYPE_CHECKING:
    import numpy as np

    from app.export_dialog import ExportRequest
    from ipoke_core.image import Framing
    from ipoke_core.inference import Poker, Video

__all__ = ["MainWindow", "application", "load_poker", "DEFAULT_SIZE"]

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
        self.workspace = ws = Workspace()  # everything the user works on; this window shows it
        self.setWindowTitle("iPoke")
        icon = resources.icon_path("ipoke.svg")
        if icon:
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)

        self.model_lane = Lane("model", self)
        self.io_lane = Lane("io", self)
        self.dispatcher = Dispatcher([self.model_lane, self.io_lane], self)  # each job's own handlers hear of it
        self.model_lane.busyChanged.connect(self._on_model_busy)  # a window slot: queued to the UI thread

        v = build_views(self)
        self.banner, self.canvas, self.hint, self.player = v.banner, v.canvas, v.hint, v.player
        self.heatmaps, self.parts_view, self.tabs, self.splitter = v.heatmaps, v.parts_view, v.tabs, v.splitter
        self.side, self.dock, self.status = v.side, v.dock, v.status
        # tests replace show_error on the window: the helpers reach it through this late-bound call
        fb = self.feedback = Feedback(self, self.settings, self.statusBar(),
                                      lambda title, text, details=None: self.show_error(title, text, details),
                                      self.tabs.setCurrentWidget)
        self.checkpoints = CheckpointLoader(ws, self.model_lane, fb, self.side.device, poker_factory)
        self.images = ImageInput(ws, self.io_lane, fb)  # opening, pasting and dropping images
        self.acts = build_actions(self, ActionSlots(
            self.images.open_dialog, self.images.paste, self.open_sample, self.export_dialog, self.undo_poke,
            self.clear_pokes, self.continue_from_last_frame, self.back_to_original, self.player.toggle, self.set_mode,
            self.canvas.fit, self.player.set_smooth, self.set_full_resolution, self.checkpoints.open_dialog,
            self.load_checkpoint, self.compute_parts, self.dock.toggleViewAction()))
        # the bindings hear of each change first (the canvas shows a new image before its markers go)
        self.bindings = SessionBindings(ws, self, v, self.acts)
        self.heatmap_flow = HeatmapFlow(ws, self.model_lane, self.heatmaps, self.canvas, fb)
        self.parts_flow = PartsFlow(ws, self.model_lane, self.parts_view, fb, self.heatmap_flow.on_location_picked)
        self.poke_flow = PokeFlow(ws, self.model_lane, self.player, self.canvas, self.side.live_preview, fb)
        self.export_flow = ExportFlow(ws, self.io_lane, fb)
        self._connect_side_panel()

        self._tools = tool_settings(self.side, self.heatmaps, self.player, self.acts)
        self.ignored_settings, self.settings_unsaved = restore_window(self, self.splitter, self._tools,
                                                                      self.settings, DEFAULT_SIZE)
        self.checkpoints.set_devices(devices if devices is not None else available_devices(),
                                     self.settings.get("device"))
        self.side.set_samples(resources.sample_images())
        self.bindings.show_all()

    def _connect_side_panel(self) -> None:
        s = self.side
        s.open_checkpoint.clicked.connect(self.checkpoints.open_dialog)
        s.open_image.clicked.connect(self.images.open_dialog)
        s.paste_image.clicked.connect(self.images.paste)
        s.sampleChosen.connect(self.open_sample)
        s.letterbox.toggled.connect(self._on_letterbox)
        s.continue_button.clicked.connect(self.continue_from_last_frame)
        s.original_button.clicked.connect(self.back_to_original)
        s.undo.clicked.connect(self.undo_poke)
        s.clear.clicked.connect(self.clear_pokes)
        s.export_video.clicked.connect(self.export_dialog)
        s.find_parts.clicked.connect(self.compute_parts)

    def save_settings(self) -> None:
        self.place_settings(narrow=False)  # the dock's state as the user left it, not as a narrow window moved it
        save_window(self, self.splitter, self._tools, self.settings, self.workspace.slot)

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

    # ================================================================================ the session
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

    @property
    def checkpoint_path(self) -> str:
        return self.workspace.slot.path

    @property
    def poker_factory(self) -> PokerFactory:
        return self.checkpoints.factory

    @poker_factory.setter
    def poker_factory(self, factory: PokerFactory) -> None:
        self.checkpoints.factory = factory

    def current_device(self) -> str:
        return self.checkpoints.current_device()

    def load_checkpoint(self, path: str, device: str | None = None) -> Job:
        """Load a checkpoint in the worker; on failure an error dialog, and the current model stays."""
        return self.checkpoints.load(path, device)

    def open_image(self, path: str) -> Job:
        """Decode ``path`` in the io worker, then show it."""
        return self.images.open(path)

    def open_sample(self, path: str) -> Job:
        """Open a bundled sample with the bundled model made for its kind of object: a figure sample
        switches a loaded bundled plants model to the figures one (a user's own checkpoint stays)."""
        wanted = resources.checkpoint_for_sample(path)
        current = self.checkpoint_path
        if wanted is not None and resources.is_bundled_checkpoint(current) \
                and Path(current).resolve() != wanted.resolve():
            self.load_checkpoint(str(wanted))
            self.statusBar().showMessage(f"Loading {wanted.stem}, the bundled model made for {Path(path).stem}", 5000)
        return self.open_image(path)

    def set_image(self, image: np.ndarray, name: str, path: str | None = None) -> None:
        """Make ``image`` (H, W, 3) uint8 the opened image: new framing, no pokes, no video, no heatmaps.
        ``path``: the file it came from (None when pasted); the gallery highlights it if it is a sample."""
        self.workspace.open_image(image, name, path)

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

    def set_mode(self, mode: str) -> None:
        """``"poke"`` or ``"heatmap"``: the workspace's mode, shown by the canvas, the buttons and the tabs."""
        self.bindings.set_mode(mode)

    def set_full_resolution(self, on: bool) -> None:
        """Videos at the photo's resolution (on) or the model's; the current one is made again to show it."""
        if on == self.workspace.full_resolution:
            return
        self.workspace.set_full_resolution(on)
        if self.video is not None:
            self.poke_flow.generate()

    def undo_poke(self) -> None:
        if not self.workspace.undo_poke():
            self.statusBar().showMessage("No poke to undo.", 3000)

    def clear_pokes(self) -> None:
        self.workspace.clear_pokes()

    def compute_heatmap(self, x: float, y: float) -> Job:
        """Queue a correlation heatmap for source pixel ``(x, y)``."""
        return self.heatmap_flow.compute(x, y)

    def compute_parts(self) -> Job | None:
        """Queue the model's parts of the current image (in the model lane; the parts tab shows them)."""
        return self.parts_flow.compute()

    def export_dialog(self) -> None:
        self.export_flow.dialog()

    def export(self, request: ExportRequest) -> Job:
        """Write the current video as ``request`` says, in the io worker (the path's suffix picks the format)."""
        return self.export_flow.export(request)

    # ================================================================================ the window
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self.images.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if self.images.open_mime(event.mimeData(), "drop"):
            event.acceptProposedAction()

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

    def _on_model_busy(self, busy: bool) -> None:
        self.status.set_busy(busy)

    def show_error(self, title: str, text: str, details: str | None = None) -> None:
        """A modal error dialog (tests replace ``QMessageBox.critical``-like calls through this method)."""
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        box.exec()

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
        self.poke_flow.stop_preview()
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
