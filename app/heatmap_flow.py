"""Heatmaps in the window: from a clicked point to a job in the model lane, its panel, and the saved files.

The workspace holds the points and results (``ipoke_core.workspace``); this piece asks it for a
request, runs it in the window's ``model`` lane with progress in the heatmap view, hands the
result back to the workspace, and saves the figure (PNG) or the stack (.npy) where the user says.
"""
from __future__ import annotations

from typing import TYPE_CHECKING


from app.save_files import ask_save_path, save_or_report
from app.workers import Handlers, Job
from ipoke_core.errors import UserError

if TYPE_CHECKING:

    from app.main_window import MainWindow
    from ipoke_core.analysis.heatmap import HeatmapResult
    from ipoke_core.session import HeatmapRequest


class HeatmapFlow:
    """The window's heatmap jobs and files."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def on_location_picked(self, x: float, y: float) -> None:
        w = self.window
        if w.poker is None or w.image is None or w.framing is None:
            w.statusBar().showMessage("Load a checkpoint first.", 5000)
            return
        w.compute_heatmap(x, y)

    def compute(self, x: float, y: float) -> Job:
        """Queue a correlation heatmap for source pixel ``(x, y)``."""
        w, s = self.window, self.window.side
        request = w.workspace.heatmap_request(x, y, n=s.heat_n.value(), batch_size=s.heat_batch.value(),
                                              seed=s.heat_seed.value(),
                                              magnitude_range=(s.heat_lo.value(), s.heat_hi.value()))
        w.tabs.setCurrentWidget(w.heatmaps)
        return w.model_lane.run("heatmap", request.run, payload=request, handlers=Handlers(
            finished=self._ready, failed=self._failed, cancelled=self._cancelled,
            started=lambda job: w.heatmaps.start_progress(f"Heatmap #{request.number}", request.n),
            progress=lambda job, done, total, message: w.heatmaps.set_progress(done, total)))

    def clear(self) -> None:
        self.window.workspace.clear_heatmaps()
        self.show()

    def show(self) -> None:
        """Show the workspace's heatmap points on the canvas and its new results as panels."""
        w, ws = self.window, self.window.workspace
        w.canvas.set_markers(ws.heat_points)
        if not ws.heat_points:  # cleared (or the last one dropped): nothing is left to compute or show
            w.model_lane.cancel("heatmap")
            w.heatmaps.clear()
            w.heatmaps.stop_progress("")
        for result in ws.heatmaps[len(w.heatmaps.panels):]:
            w.heatmaps.add_result(result, result.source)

    def _ready(self, job: Job, result: HeatmapResult) -> None:
        w = self.window
        request: HeatmapRequest = job.payload
        if not w.workspace.accept_heatmap(request, result):
            return
        w.heatmaps.stop_progress(f"Heatmap #{request.number}: {result.n} pokes in {result.elapsed_s:.1f} s")
        w.statusBar().showMessage(f"Heatmap #{request.number} done in {result.elapsed_s:.1f} s", 5000)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        w = self.window
        w.workspace.drop_heatmap(job.payload)
        w.heatmaps.stop_progress("Heatmap failed")
        w.show_error("Heatmap failed", str(error), None if isinstance(error, UserError) else trace)

    def _cancelled(self, job: Job) -> None:
        w = self.window
        w.workspace.drop_heatmap(job.payload)
        w.heatmaps.stop_progress("Cancelled")
        w.statusBar().showMessage("Heatmap cancelled.", 4000)

    # ---- saving ----------------------------------------------------------------------------------
    def save_png(self) -> None:
        """A paper-style figure (Fig. 5): the source with numbered locations, then one overlay each."""
        w, ws = self.window, self.window.workspace
        path = ask_save_path(w, "Save heatmaps as PNG", "heatmaps.png", "PNG image (*.png)")
        if path and save_or_report(w, "heatmaps", lambda: ws.save_heatmap_figure(
                path, alpha=w.heatmaps.opacity.value() / 100, colormap=w.heatmaps.colormap_name, upscale=4,
                columns=min(len(ws.heatmaps) + 1, 4))):
            w.statusBar().showMessage(f"Saved {path}", 5000)

    def save_npy(self) -> None:
        w, ws = self.window, self.window.workspace
        path = ask_save_path(w, "Save heatmaps as .npy", "heatmaps.npy", "NumPy array (*.npy)")
        if path and save_or_report(w, "heatmaps", lambda: ws.save_heatmap_stack(path)):
            w.statusBar().showMessage(f"Saved {path}: {len(ws.heatmaps)} heatmaps", 5000)
