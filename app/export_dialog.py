"""The export dialog: choose what to write (MP4, GIF, PNG frames, frame strip), where, and how.

The dialog only collects an ``ExportRequest``; the main window runs it in a worker thread with
``ipoke_core.export`` and reports errors in a message box.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QMessageBox, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from app.widgets import muted_text_style

# format key -> (label, file suffix or "" for a folder, file-dialog filter)
FORMATS: dict[str, tuple[str, str, str]] = {
    "mp4": ("MP4 video (H.264)", ".mp4", "MP4 video (*.mp4)"),
    "gif": ("GIF animation", ".gif", "GIF animation (*.gif)"),
    "frames": ("PNG frames (a folder)", "", ""),
    "strip": ("Frame strip PNG (source + frames, like the paper's figures)", ".png", "PNG image (*.png)"),
}


@dataclass(frozen=True)
class ExportRequest:
    """What to export: ``kind`` is a key of ``FORMATS``; ``path`` a file, or a folder for frames."""

    kind: str
    path: Path
    upscale: int
    overlay: bool


def with_suffix_for(kind: str, path: str) -> str:
    """``path`` with the suffix of ``kind`` (frames: no suffix, it is a folder)."""
    if not path:
        return path
    p = Path(path)
    suffix = FORMATS[kind][1]
    known = {s for _, s, _ in FORMATS.values() if s}
    stem = p.with_suffix("") if p.suffix.lower() in known else p
    return str(stem.with_name(stem.name + suffix)) if suffix else str(stem)


class ExportDialog(QDialog):
    """Collects an ``ExportRequest``; ``request()`` returns it after ``exec()`` was accepted."""

    def __init__(self, folder: str, base_name: str, resolution: int, n_frames: int, kind: str = "mp4",
                 upscale: int = 4, overlay: bool = True, parent: QWidget | None = None,
                 full_side: int | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.resolution = resolution
        self.full_side = full_side  # the video drawn at the photo's resolution is this wide (None: model size)
        self.n_frames = n_frames  # generated frames; the files also hold the input image first
        self.format = QComboBox()
        for key, (label, _, _) in FORMATS.items():
            self.format.addItem(label, key)
        self.format.setCurrentIndex(max(0, list(FORMATS).index(kind) if kind in FORMATS else 0))
        self.path = QLineEdit(with_suffix_for(self.kind, str(Path(folder) / base_name)))
        self.path.setToolTip("The file to write (for PNG frames: a folder that will hold frame_000.png, …)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.upscale = QSpinBox()
        self.upscale.setRange(1, 16)
        self.upscale.setValue(upscale)
        self.upscale.setPrefix("× ")
        self.upscale.setToolTip("Enlarge each frame by this factor (nearest pixel, so the model's pixels stay sharp)"
                                if full_side is None else
                                "The video is at least the model's size times this; it is drawn at the photo's "
                                f"resolution ({full_side} px) when that is larger")
        self.overlay = QCheckBox("Draw the poke arrow")
        self.overlay.setChecked(overlay)
        self.size_label = QLabel()
        self.size_label.setStyleSheet(muted_text_style())
        self.format.currentIndexChanged.connect(self._on_format)
        self.upscale.valueChanged.connect(self._update_size)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Save to", path_row)
        form.addRow("Upscale", self.upscale)
        form.addRow("", self.overlay)
        form.addRow("", self.size_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.error = QLabel()
        self.error.setStyleSheet("color: #e05050;")
        self.error.hide()
        layout.addWidget(self.error)
        self.resize(560, self.sizeHint().height())
        self._update_size()

    @property
    def kind(self) -> str:
        return self.format.currentData()

    def request(self) -> ExportRequest:
        return ExportRequest(self.kind, Path(self.path.text().strip()).expanduser(), self.upscale.value(),
                             self.overlay.isChecked())

    def _on_format(self) -> None:
        self.path.setText(with_suffix_for(self.kind, self.path.text().strip()))
        self._update_size()

    def _update_size(self) -> None:
        side = max(self.resolution * self.upscale.value(), self.full_side or 0)
        # every format writes the input image first, then the generated frames
        total = self.n_frames + 1
        what = f"the input + {self.n_frames} generated"
        if self.kind == "strip":
            self.size_label.setText(f"Output: one image of {total} panels ({what}), {side} px high")
        elif self.kind == "frames":
            self.size_label.setText(f"Output: {total} PNG files of {side}×{side} px ({what} frames)")
        else:
            self.size_label.setText(f"Output: {side}×{side} px, {total} frames ({what})")

    def _browse(self) -> None:
        current = self.path.text().strip()
        if self.kind == "frames":
            folder = QFileDialog.getExistingDirectory(self, "Folder for PNG frames", str(Path(current).parent))
            if folder:
                self.path.setText(str(Path(folder) / Path(current).name))
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export", current, FORMATS[self.kind][2])
        if path:
            self.path.setText(with_suffix_for(self.kind, path))

    def _accept(self) -> None:
        text = self.path.text().strip()
        if not text:
            self._show_error("Choose where to save.")
            return
        path = Path(text).expanduser()
        if self.kind == "frames" and path.exists():
            from ipoke_core.export import check_frame_folder
            from ipoke_core.io_utils import OutputError

            try:
                check_frame_folder(path)  # a folder with other files in it is never written into
            except OutputError as e:
                self._show_error(str(e))
                return
        if path.exists() and not self._confirm_replace(path):
            return
        self.accept()

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setWordWrap(True)
        self.error.show()

    def _confirm_replace(self, path: Path) -> bool:
        """Ask before replacing an earlier export (a typed path gets no question from the file dialog)."""
        what = "the PNG frames in the folder" if path.is_dir() else "the file"
        answer = QMessageBox.question(
            self, "Replace?", f"{path.name} already exists. Replace {what}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
