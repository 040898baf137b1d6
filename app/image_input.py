"""Where the app's images come from: the file dialog, a path (decoded in the ``io`` lane), the
clipboard and drag and drop. Each ends in ``Workspace.open_image``; a file that cannot be read
shows an error dialog and the current image stays."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog

from app import resources
from app.canvas import qimage_to_numpy
from app.workers import Handlers, Job
from ipoke_core.errors import UserError
from ipoke_core.image import load_image

if TYPE_CHECKING:
    import numpy as np

    from app.feedback import Feedback
    from app.workers import Lane
    from ipoke_core.session import Workspace


class ImageInput:
    """Opens images into ``workspace``, decoding files in ``lane``; the newest request wins."""

    def __init__(self, workspace: Workspace, lane: Lane, feedback: Feedback) -> None:
        self.ws, self.lane, self.feedback = workspace, lane, feedback

    def open_dialog(self) -> None:
        fb = self.feedback
        path, _ = QFileDialog.getOpenFileName(
            fb.parent, "Open image", fb.settings.get("last_folder"),
            "Images (" + " ".join("*" + s for s in resources.IMAGE_SUFFIXES) + ");;All files (*)")
        if path:
            self.open(path)

    def open(self, path: str) -> Job:
        """Decode ``path`` in the io worker, then show it."""
        self.feedback.say(f"Opening {Path(path).name}…")
        return self.lane.run("image", lambda progress, cancel: load_image(path), payload={"path": path},
                             coalesce=True, handlers=Handlers(finished=self._loaded, failed=self._failed))

    def _loaded(self, job: Job, image: np.ndarray) -> None:
        if self.lane.is_latest(job):
            path = job.payload["path"]
            self.feedback.settings.set("last_folder", str(Path(path).parent))
            self.feedback.settings.set("last_image", path)
            self.ws.open_image(image, Path(path).name, path)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.feedback.clear()
        self.feedback.error("Cannot open image", str(error), None if isinstance(error, UserError) else trace)

    def paste(self) -> None:
        self.open_mime(QGuiApplication.clipboard().mimeData(), "clipboard")

    def open_mime(self, mime: QMimeData | None, where: str) -> bool:
        """An image from a drop or the clipboard: a local file URL or image data."""
        if mime is None:
            return False
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                self.open(url.toLocalFile())
                return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                try:
                    self.ws.open_image(qimage_to_numpy(image), f"pasted from {where}")
                except UserError as e:
                    self.feedback.error("Cannot use this image", str(e))
                return True
        self.feedback.say(f"There is no image on the {where}.", 5000)
        return False

    @staticmethod
    def accepts(mime: QMimeData) -> bool:
        """Whether a drag carries something ``open_mime`` can open."""
        return mime.hasImage() or any(u.isLocalFile() for u in mime.urls())
