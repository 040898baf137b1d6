"""Heatmaps in the app: from a clicked point to a job in the model lane, its panel, and the saved files.

The workspace holds the points, the results and the settings of the next heatmap
(``ipoke_core.session``); this piece asks it for a request, runs it in the ``model`` lane with
progress in the heatmap view, hands the result back to the workspace, shows what the workspace
holds (``show``, on its ``HEATMAPS`` events), and saves the figure (PNG) or the stack (.npy).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.save_files import ask_save_path, save_or_report
from app.workers import Handlers, Job
from ipoke_core.errors import UserError
from ipoke_core.session import HEATMAPS

if TYPE_CHECKING:
    from app.canvas import PokeCanvas
    from app.feedback import Feedback
    from app.heatmap_view import HeatmapView
    from app.workers import Lane
    from ipoke_core.analysis.heatmap import HeatmapResult
    from ipoke_core.session import Change, HeatmapRequest, Workspace


class HeatmapFlow:
    """The session's heatmap jobs, their view and files."""

    def __init__(self, workspace: Workspace, lane: Lane, view: HeatmapView, canvas: PokeCanvas,
                 feedback: Feedback) -> None:
        self.ws, self.lane, self.view, self.canvas, self.feedback = workspace, lane, view, canvas, feedback
        view.cancelRequested.connect(lambda: lane.cancel("heatmap"))
        view.savePngRequested.connect(self.save_png)
        view.saveNpyRequested.connect(self.save_npy)
        view.clearRequested.connect(self.clear)
        canvas.locationPicked.connect(self.on_location_picked)
        workspace.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if HEATMAPS in change:
            self.show()

    def on_location_picked(self, x: float, y: float) -> None:
        ws = self.ws
        if ws.poker is None or ws.image is None or ws.framing is None:
            self.feedback.say("Load a checkpoint first.", 5000)
            return
        self.compute(x, y)

    def compute(self, x: float, y: float) -> Job:
        """Queue a correlation heatmap for source pixel ``(x, y)`` with the session's heatmap settings."""
        request = self.ws.heatmap_request(x, y)
        view = self.view
        self.feedback.reveal(view)
        return self.lane.run("heatmap", request.run, payload=request, handlers=Handlers(
            finished=self._ready, failed=self._failed, cancelled=self._cancelled,
            started=lambda job: view.start_progress(f"Heatmap #{request.number}", request.n),
            progress=lambda job, done, total, message: view.set_progress(done, total)))

    def clear(self) -> None:
        self.ws.clear_heatmaps()
        self.show()

    def show(self) -> None:
        """Show the workspace's heatmap points on the canvas and its new results as panels."""
        ws, view = self.ws, self.view
        self.canvas.set_markers(ws.heat_points)
        if not ws.heat_points:  # cleared (or the last one dropped): nothing is left to compute or show
            self.lane.cancel("heatmap")
            view.clear()
            view.stop_progress("")
        for result in ws.heatmaps[len(view.panels):]:
            view.add_result(result, result.source)

    def _ready(self, job: Job, result: HeatmapResult) -> None:
        request: HeatmapRequest = job.payload
        if not self.ws.accept_heatmap(request, result):
            return
        self.view.stop_progress(f"Heatmap #{request.number}: {result.n} pokes in {result.elapsed_s:.1f} s")
        self.feedback.say(f"Heatmap #{request.number} done in {result.elapsed_s:.1f} s", 5000)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.ws.drop_heatmap(job.payload)
        self.view.stop_progress("Heatmap failed")
        self.feedback.error("Heatmap failed", str(error), None if isinstance(error, UserError) else trace)

    def _cancelled(self, job: Job) -> None:
        self.ws.drop_heatmap(job.payload)
        self.view.stop_progress("Cancelled")
        self.feedback.say("Heatmap cancelled.", 4000)

    # ---- saving ----------------------------------------------------------------------------------
    def save_png(self) -> None:
        """A paper-style figure (Fig. 5): the source with numbered locations, then one overlay each."""
        ws, view, fb = self.ws, self.view, self.feedback
        path = ask_save_path(fb, "Save heatmaps as PNG", "heatmaps.png", "PNG image (*.png)")
        if path and save_or_report(fb, "heatmaps", lambda: ws.save_heatmap_figure(
                path, alpha=view.opacity.value() / 100, colormap=view.colormap_name, upscale=4,
                columns=min(len(ws.heatmaps) + 1, 4))):
            fb.say(f"Saved {path}", 5000)

    def save_npy(self) -> None:
        ws, fb = self.ws, self.feedback
        path = ask_save_path(fb, "Save heatmaps as .npy", "heatmaps.npy", "NumPy array (*.npy)")
        if path and save_or_report(fb, "heatmaps", lambda: ws.save_heatmap_stack(path)):
            fb.say(f"Saved {path}: {len(ws.heatmaps)} heatmaps", 5000)
