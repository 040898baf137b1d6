"""Pokes in the app: from the workspace's pokes to a video in the player, off the UI thread.

When the image, square, pokes or model change (the workspace's ``video_inputs`` events), this piece
asks the workspace for a ``PokeRequest``, runs it in the ``model`` lane (the newest request wins,
older results are dropped) and hands the video back (``accept_video``); the workspace's ``VIDEO``
event puts it in the player. While the user drags, a live preview is asked for at most once per
``PREVIEW_INTERVAL_MS``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from app.workers import Handlers, Job
from ipoke_core.errors import UserError
from ipoke_core.poke import Poke, PokeError
from ipoke_core.session import IMAGE, VIDEO

if TYPE_CHECKING:
    from PySide6.QtWidgets import QAbstractButton

    from app.canvas import PokeCanvas
    from app.feedback import Feedback
    from app.player import VideoPlayer
    from app.workers import Lane
    from ipoke_core.inference import Video
    from ipoke_core.session import Change, PokeRequest, Workspace

# at most one live-preview request per this many milliseconds while dragging
PREVIEW_INTERVAL_MS = 60


class PokeFlow:
    """The session's videos: requests in ``lane``, results in ``player``; ``live_preview`` says whether
    a drag asks for previews."""

    def __init__(self, workspace: Workspace, lane: Lane, player: VideoPlayer, canvas: PokeCanvas,
                 live_preview: QAbstractButton, feedback: Feedback) -> None:
        self.ws, self.lane, self.player, self.canvas, self.feedback = workspace, lane, player, canvas, feedback
        self.live_preview = live_preview
        self._preview_pokes: list[Poke] | None = None
        self._timer = QTimer(player)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_INTERVAL_MS)
        self._timer.timeout.connect(self._send_preview)
        canvas.pokePreview.connect(self._on_preview)
        workspace.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if IMAGE in change:
            self.lane.cancel("poke")
        if VIDEO in change:
            self._show_video()
        if change.video_inputs and IMAGE not in change:
            self.stop_preview()
            self.generate()

    def stop_preview(self) -> None:
        self._timer.stop()
        self._preview_pokes = None

    def _on_preview(self, pokes: list[Poke]) -> None:
        if not self.live_preview.isChecked() or self.ws.poker is None:
            return
        self._preview_pokes = pokes
        if not self._timer.isActive():
            self._timer.start()

    def _send_preview(self) -> None:
        if self._preview_pokes is not None and self.canvas.dragging:  # still dragging
            self.generate(self._preview_pokes, preview=True)
        self._preview_pokes = None

    def generate(self, pokes: list[Poke] | None = None, preview: bool = False) -> Job | None:
        """Ask the worker for the video of ``pokes`` (default: the workspace's); the newest request wins."""
        request = self.ws.poke_request(pokes, preview)
        if request is None:
            return None
        if not request.pokes:  # no pokes: the video goes
            self.lane.cancel("poke")
        else:
            self.player.set_busy("updating preview…" if preview else "generating…")
        return self.lane.run("poke", request.run, payload=request, coalesce=True, handlers=Handlers(
            finished=self._ready, failed=self._failed, cancelled=lambda job: self.player.set_busy("")))

    def _ready(self, job: Job, video: Video | None) -> None:
        self.player.set_busy("")
        request: PokeRequest = job.payload
        if not self.lane.is_latest(job):  # stale previews are dropped
            return
        if self.ws.accept_video(request, video) and video is not None and not request.preview:
            self.feedback.reveal(self.player)  # the video tab, in poke mode

    def _show_video(self) -> None:
        video = self.ws.video
        if video is None:
            self.player.clear()
            return
        # drawn at the photo's resolution in the worker (PokeRequest.run) when the workspace asks for it
        full = self.ws.full_resolution_video()
        source, frames = (video.source, video.frames) if full is None else full
        self.player.set_video(source, frames, video.pokes, still=video.is_still, autoplay=True,
                              movement=video.movement(), resolution=video.resolution)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.player.set_busy("")
        if not self.lane.is_latest(job):
            return
        if isinstance(error, PokeError):
            self.feedback.say(f"Poke not possible: {error}", 6000)
        elif job.payload.preview:
            self.feedback.say(f"Preview failed: {error}", 6000)
        else:
            self.feedback.error("Video generation failed", str(error), None if isinstance(error, UserError) else trace)
