"""Where the window's images come from: the file dialog, a path (decoded in the ``io`` lane), the
clipboard and drag and drop. Each ends in ``MainWindow.set_image``; a file that cannot be read
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

    from app.main_window import MainWindow


class ImageInput:
    """Opens images for ``window``; the newest request wins."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def open_dialog(self) -> None:
        w = self.window
        path, _ = QFileDialog.getOpenFileName(
            w, "Open image", w.settings.get("last_folder"),
            "Images (" + " ".join("*" + s for s in resources.IMAGE_SUFFIXES) + ");;All files (*)")
        if path:
            self.open(path)

    def open(self, path: str) -> Job:
        """Decode ``path`` in the io worker, then show it."""
        w = self.window
        w.statusBar().showMessage(f"Opening {Path(path).name}…")
        return w.io_lane.run("image", lambda progress, cancel: load_image(path), payload={"path": path},
                             coalesce=True, handlers=Handlers(finished=self._loaded, failed=self._failed))

    def _loaded(self, job: Job, image: np.ndarray) -> None:
        w = self.window
        if w.io_lane.is_latest(job):
            path = job.payload["path"]
            w.settings.set("last_folder", str(Path(path).parent))
            w.settings.set("last_image", path)
            w.set_image(image, Path(path).name, path)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.window.statusBar().clearMessage()
        self.window.show_error("Cannot open image", str(error), None if isinstance(error, UserError) else trace)

    def paste(self) -> None:
        self.open_mime(QGuiApplication.clipboard().mimeData(), "clipboard")

    def open_mime(self, mime: QMimeData | None, where: str) -> bool:
        """An image from a drop or the clipboard: a local file URL or image data."""
        w = self.window
        if mime is None:
            return False
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                w.open_image(url.toLocalFile())
                return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                try:
                    w.set_image(qimage_to_numpy(image), f"pasted from {where}")
                except UserError as e:
                    w.show_error("Cannot use this image", str(e))
                return True
        w.statusBar().showMessage(f"There is no image on the {where}.", 5000)
        return False

    @staticmethod
    def accepts(mime: QMimeData) -> bool:
        """Whether a drag carries something ``open_mime`` can open."""
        return mime.hasImage() or any(u.isLocalFile() for u in mime.urls())
