"""Parts in the app: a job in the model lane, the parts tab, a click to a heatmap, the saved files.

The workspace holds the parts (``ipoke_core.session``); this piece asks it for a request, runs it
in the ``model`` lane with progress in the parts view, hands the result back, shows what the
workspace holds (on its ``PARTS`` events), and turns a click on a part into a heatmap at that
point (``pick``: the heatmap flow's own entry).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.save_files import ask_save_path, save_or_report
from app.workers import Handlers, Job
from ipoke_core.errors import UserError
from ipoke_core.session import PARTS

if TYPE_CHECKING:
    from app.feedback import Feedback
    from app.parts_view import PartsView
    from app.workers import Lane
    from ipoke_core.analysis.parts import PartsResult
    from ipoke_core.session import Change, PartsRequest, Workspace


class PartsFlow:
    """The session's parts job, its view and files."""

    def __init__(self, workspace: Workspace, lane: Lane, view: PartsView, feedback: Feedback,
                 pick: Callable[[float, float], object]) -> None:
        self.ws, self.lane, self.view, self.feedback, self.pick = workspace, lane, view, feedback, pick
        view.computeRequested.connect(self.compute)
        view.cancelRequested.connect(lambda: lane.cancel("parts"))
        view.savePngRequested.connect(self.save_png)
        view.saveNpyRequested.connect(self.save_npy)
        view.partClicked.connect(self.on_part_clicked)
        workspace.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if PARTS in change:
            self.show()

    def compute(self) -> Job | None:
        """Queue the parts of the current image (a running one is cancelled first: the newest wins)."""
        ws, fb = self.ws, self.feedback
        if ws.poker is None or ws.image is None or ws.framing is None:
            fb.say("Load a checkpoint and an image first.", 5000)
            return None
        if not ws.poker.predicts_motion:
            fb.error("Parts need a motion-first checkpoint",
                     "This checkpoint draws frames without a motion of its own; load plants64 or figures64.")
            return None
        self.lane.cancel("parts")
        request = ws.parts_request(grid=8, batch_size=32)
        view = self.view
        fb.reveal(view)
        return self.lane.run("parts", request.run, payload=request, handlers=Handlers(
            finished=self._ready, failed=self._failed, cancelled=self._cancelled,
            started=lambda job: view.start_progress("Finding parts: poking a grid over the image…", 1),
            progress=lambda job, done, total, message: view.set_progress(done, total)))

    def show(self) -> None:
        """Show the workspace's parts (none: the view is emptied and a running job cancelled)."""
        if self.ws.parts is None and self.lane.is_busy("parts"):
            self.lane.cancel("parts")
        self.view.set_result(self.ws.parts)

    def on_part_clicked(self, x: float, y: float) -> None:
        """A click at model pixel ``(x, y)`` of the parts: its heatmap, at the clicked point."""
        res, framing = self.ws.parts, self.ws.framing
        if res is None or framing is None:
            return
        if res.part_at(x, y) < 0:
            self.feedback.say("That point is still: click a coloured part.", 4000)
            return
        self.pick(*framing.to_source(x, y))

    def _ready(self, job: Job, result: PartsResult) -> None:
        request: PartsRequest = job.payload
        if not self.ws.accept_parts(request, result):
            self.view.stop_progress("")
            return
        text = (f"{result.n_parts} part(s) from {len(result.pokes)} pokes at {len(result.points)} points "
                f"in {result.elapsed_s:.1f} s")
        self.view.stop_progress(text)
        self.feedback.say(f"Parts: {text}", 5000)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.view.stop_progress("Finding parts failed")
        self.feedback.error("Finding parts failed", str(error), None if isinstance(error, UserError) else trace)

    def _cancelled(self, job: Job) -> None:
        self.view.stop_progress("Cancelled")
        self.feedback.say("Parts cancelled.", 4000)

    # ---- saving ----------------------------------------------------------------------------------
    def save_png(self) -> None:
        ws, fb = self.ws, self.feedback
        path = ask_save_path(fb, "Save parts as PNG", f"{ws.export_stem.removesuffix('_poked')}_parts.png",
                             "PNG image (*.png)")
        if path and save_or_report(fb, "parts", lambda: ws.save_parts_png(path)):
            fb.say(f"Saved {path}", 5000)

    def save_npy(self) -> None:
        ws, fb = self.ws, self.feedback
        path = ask_save_path(fb, "Save part labels as .npy", f"{ws.export_stem.removesuffix('_poked')}_parts.npy",
                             "NumPy array (*.npy)")
        if path and save_or_report(fb, "parts", lambda: ws.save_parts_labels(path)):
            fb.say(f"Saved {path}: part labels, -1 = still", 5000)
