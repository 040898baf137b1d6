"""Parts in the window: a job in the model lane, the parts tab, a click to a heatmap, the saved files.

The workspace holds the parts (``ipoke_core.workspace``); this piece asks it for a request, runs
it in the window's ``model`` lane with progress in the parts view, hands the result back, and
turns a click on a part into a heatmap at that point (the heatmap flow's own job).
"""
from __future__ import annotations

from typing import TYPE_CHECKING


from app.save_files import ask_save_path, save_or_report
from app.workers import Handlers, Job
from ipoke_core.errors import UserError

if TYPE_CHECKING:

    from app.main_window import MainWindow
    from ipoke_core.analysis.parts import PartsResult
    from ipoke_core.session import PartsRequest


class PartsFlow:
    """The window's parts job and files."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def compute(self) -> Job | None:
        """Queue the parts of the current image (a running one is cancelled first: the newest wins)."""
        w = self.window
        if w.poker is None or w.image is None or w.framing is None:
            w.statusBar().showMessage("Load a checkpoint and an image first.", 5000)
            return None
        if not w.poker.predicts_motion:
            w.show_error("Parts need a motion-first checkpoint",
                         "This checkpoint draws frames without a motion of its own; load plants64 or figures64.")
            return None
        w.model_lane.cancel("parts")
        request = w.workspace.parts_request(grid=8, batch_size=32)
        w.tabs.setCurrentWidget(w.parts_view)
        view = w.parts_view
        return w.model_lane.run("parts", request.run, payload=request, handlers=Handlers(
            finished=self._ready, failed=self._failed, cancelled=self._cancelled,
            started=lambda job: view.start_progress("Finding parts: poking a grid over the image…", 1),
            progress=lambda job, done, total, message: view.set_progress(done, total)))

    def show(self) -> None:
        """Show the workspace's parts (none: the view is emptied and a running job cancelled)."""
        w = self.window
        if w.workspace.parts is None and w.model_lane.is_busy("parts"):
            w.model_lane.cancel("parts")
        w.parts_view.set_result(w.workspace.parts)

    def on_part_clicked(self, x: float, y: float) -> None:
        """A click at model pixel ``(x, y)`` of the parts: its heatmap, at the clicked point."""
        w, res = self.window, self.window.workspace.parts
        if res is None or w.framing is None:
            return
        if res.part_at(x, y) < 0:
            w.statusBar().showMessage("That point is still: click a coloured part.", 4000)
            return
        sx, sy = w.framing.to_source(x, y)
        w.heatmap_flow.on_location_picked(sx, sy)

    def _ready(self, job: Job, result: PartsResult) -> None:
        w = self.window
        request: PartsRequest = job.payload
        if not w.workspace.accept_parts(request, result):
            w.parts_view.stop_progress("")
            return
        text = (f"{result.n_parts} part(s) from {len(result.pokes)} pokes at {len(result.points)} points "
                f"in {result.elapsed_s:.1f} s")
        w.parts_view.stop_progress(text)
        w.statusBar().showMessage(f"Parts: {text}", 5000)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        w = self.window
        w.parts_view.stop_progress("Finding parts failed")
        w.show_error("Finding parts failed", str(error), None if isinstance(error, UserError) else trace)

    def _cancelled(self, job: Job) -> None:
        w = self.window
        w.parts_view.stop_progress("Cancelled")
        w.statusBar().showMessage("Parts cancelled.", 4000)

    # ---- saving ----------------------------------------------------------------------------------
    def save_png(self) -> None:
        w, ws = self.window, self.window.workspace
        path = ask_save_path(w, "Save parts as PNG", f"{ws.export_stem.removesuffix('_poked')}_parts.png",
                               "PNG image (*.png)")
        if path and save_or_report(w, "parts", lambda: ws.save_parts_png(path)):
            w.statusBar().showMessage(f"Saved {path}", 5000)

    def save_npy(self) -> None:
        w, ws = self.window, self.window.workspace
        path = ask_save_path(w, "Save part labels as .npy", f"{ws.export_stem.removesuffix('_poked')}_parts.npy",
                               "NumPy array (*.npy)")
        if path and save_or_report(w, "parts", lambda: ws.save_parts_labels(path)):
            w.statusBar().showMessage(f"Saved {path}: part labels, -1 = still", 5000)
