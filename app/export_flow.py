"""Export in the app: the dialog (with the last choices), then the workspace's export request in the
``io`` lane, at the session's playback speed."""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.export_dialog import ExportDialog, ExportRequest
from app.workers import Handlers, Job
from ipoke_core.errors import UserError

if TYPE_CHECKING:
    from app.feedback import Feedback
    from app.workers import Lane
    from ipoke_core.session import Workspace


class ExportFlow:
    """Exports the workspace's video in ``lane``."""

    def __init__(self, workspace: Workspace, lane: Lane, feedback: Feedback) -> None:
        self.ws, self.lane, self.feedback = workspace, lane, feedback

    def dialog(self) -> None:
        ws, fb, st = self.ws, self.feedback, self.feedback.settings
        if ws.video is None:
            fb.say("Nothing to export yet: poke the image first.", 5000)
            return
        full = ws.full_resolution_video()
        dialog = ExportDialog(st.output_folder(), ws.export_stem, ws.video.source.shape[0], len(ws.video.frames),
                              st.get("export_format"), st.get("export_upscale"), st.get("export_overlay"),
                              fb.parent, full_side=None if full is None else full[0].shape[0])
        if dialog.exec():
            request = dialog.request()
            st.set("export_format", request.kind)
            st.set("export_upscale", request.upscale)
            st.set("export_overlay", request.overlay)
            st.set("export_folder", str(request.path.parent))
            self.export(request)

    def export(self, request: ExportRequest) -> Job:
        """Write the current video as ``request`` says, in the io worker (the path's suffix picks the format)."""
        export = self.ws.export_request(request.path, request.upscale, request.overlay)  # at the session's fps
        self.feedback.say(f"Exporting {request.path.name}…")
        return self.lane.run("export", export.run, payload={"request": request}, handlers=Handlers(
            finished=lambda job, path: self.feedback.say(f"Saved {path}", 8000), failed=self._failed))

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.feedback.say("Export failed.", 5000)
        self.feedback.error("Export failed", str(error), None if isinstance(error, UserError) else trace)
