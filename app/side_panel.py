"""The side panel: model and device, images and samples, poke/heatmap mode, heatmap settings and parts, export.

Only widgets live here; the main window connects them to the work. Every control has a
tooltip so the panel explains itself.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout,
    QLabel, QListView, QListWidget, QListWidgetItem, QPushButton, QRadioButton, QScrollArea, QSpinBox, QVBoxLayout,
    QWidget,
)

from app.widgets import ElidedLabel, WrappedLabel, muted_text_style

THUMB = 72


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(muted_text_style() + " font-size: 9pt;")
    return label


class SidePanel(QScrollArea):
    """All settings and secondary actions, top to bottom in the order a user needs them.

    A scroll area: on a short window the panel scrolls. It never scrolls sideways; instead it is
    never narrower than its contents' minimum width (``minimumSizeHint``), and those contents are
    laid out to stay narrow (stacked buttons, wrapped or elided text), so a small window keeps
    room for the image and the video.
    """

    sampleChosen = Signal(str)  # path of a bundled sample image

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        # ---- model ----
        model = QGroupBox("Model")
        form = QFormLayout(model)
        # a long checkpoint name is cut in the middle; the tooltip holds the full path
        self.checkpoint_label = ElidedLabel("no checkpoint")
        bold = QFont(self.checkpoint_label.font())
        bold.setBold(True)
        self.checkpoint_label.setFont(bold)
        self.open_checkpoint = QPushButton("Open checkpoint…")
        self.open_checkpoint.setToolTip("Load a trained iPOKE checkpoint (.safetensors with its .json)")
        self.device = QComboBox()
        self.device.setToolTip("Where the model runs. CUDA is listed when a GPU is available.")
        self.model_info = WrappedLabel("")  # its last lines were cut when the description grew
        self.model_info.setStyleSheet(muted_text_style())
        form.addRow(self.checkpoint_label)
        form.addRow(self.open_checkpoint)
        form.addRow("Device", self.device)
        form.addRow(self.model_info)
        layout.addWidget(model)

        # ---- image ----
        image = QGroupBox("Image")
        grid = QVBoxLayout(image)
        self.samples = QListWidget()
        self.samples.setViewMode(QListView.ViewMode.IconMode)
        self.samples.setIconSize(QSize(THUMB, THUMB))
        self.samples.setResizeMode(QListView.ResizeMode.Adjust)
        self.samples.setMovement(QListView.Movement.Static)
        self.samples.setWrapping(True)
        self.samples.setWordWrap(False)
        self.samples.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.samples.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # a cell: the thumbnail with its name underneath
        line = self.samples.fontMetrics().lineSpacing()
        self.samples.setGridSize(QSize(THUMB + 14, THUMB + line + 12))
        frame = 2 * self.samples.frameWidth()
        self.samples.setMaximumHeight(2 * (THUMB + line + 12) + frame + 4)
        self.samples.setMinimumHeight(THUMB + line + 12 + frame + 4)
        self.samples.setToolTip("Bundled sample images: click one to open it")
        self.samples.itemClicked.connect(self._on_sample)
        self.no_samples = _hint("No sample images are bundled in resources/samples.")
        buttons = QHBoxLayout()
        self.open_image = QPushButton("Open…")
        self.open_image.setToolTip("Open an image file (Ctrl+O). You can also drop a file on the window.")
        self.paste_image = QPushButton("Paste")
        self.paste_image.setToolTip("Use the image on the clipboard (Ctrl+V)")
        buttons.addWidget(self.open_image)
        buttons.addWidget(self.paste_image)
        self.letterbox = QCheckBox("Fit whole image (letterbox)")
        self.letterbox.setToolTip(
            "The model sees a square. Off: a square crop, which you can move by dragging the dimmed area.\n"
            "On: the whole image, padded to a square."
        )
        # one above the other: side by side they would make the panel too wide for a small window
        chain = QVBoxLayout()
        self.continue_button = QPushButton("Continue from last frame")
        self.continue_button.setToolTip(
            "Make the last generated frame the new input image, to poke again and explore longer motions"
        )
        self.original_button = QPushButton("Back to original image")
        self.original_button.setToolTip("Go back to the image you opened")
        chain.addWidget(self.continue_button)
        chain.addWidget(self.original_button)
        grid.addWidget(self.samples)
        grid.addWidget(self.no_samples)
        grid.addLayout(buttons)
        grid.addWidget(self.letterbox)
        grid.addLayout(chain)
        layout.addWidget(image)

        # ---- mode ----
        mode = QGroupBox("Mode")
        mode_layout = QGridLayout(mode)
        self.mode_poke = QRadioButton("Poke")
        self.mode_poke.setToolTip("Drag on the image from a point to where it should move (key P)")
        self.mode_heatmap = QRadioButton("Heatmap")
        self.mode_heatmap.setToolTip("Click a point: see which pixels move together with it (key H)")
        self.mode_poke.setChecked(True)
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.mode_poke)
        self.mode_group.addButton(self.mode_heatmap)
        self.undo = QPushButton("Undo poke")
        self.undo.setToolTip("Remove the last poke (Ctrl+Z)")
        self.clear = QPushButton("Clear")
        self.clear.setToolTip("Remove all pokes")
        self.live_preview = QCheckBox("Live preview while dragging")
        self.live_preview.setToolTip("Generate videos while you drag (the newest drag position wins)")
        self.live_preview.setChecked(True)
        self.poke_hint = _hint("Shift+drag adds another poke; several pokes act together.")
        mode_layout.addWidget(self.mode_poke, 0, 0)
        mode_layout.addWidget(self.mode_heatmap, 0, 1)
        mode_layout.addWidget(self.undo, 1, 0)
        mode_layout.addWidget(self.clear, 1, 1)
        mode_layout.addWidget(self.live_preview, 2, 0, 1, 2)
        mode_layout.addWidget(self.poke_hint, 3, 0, 1, 2)
        layout.addWidget(mode)

        # ---- heatmap settings ----
        heat = QGroupBox("Heatmap settings")
        hform = QFormLayout(heat)
        self.heat_n = QSpinBox()
        self.heat_n.setRange(4, 4096)
        self.heat_n.setSingleStep(16)
        self.heat_n.setToolTip("How many random pokes are generated at the chosen point (more = smoother, slower)")
        self.heat_lo = QDoubleSpinBox()
        self.heat_hi = QDoubleSpinBox()
        for w in (self.heat_lo, self.heat_hi):
            w.setRange(0.1, 512.0)
            w.setDecimals(1)
            w.setSuffix(" px")
        self.heat_lo.setToolTip("Smallest poke length (model pixels)")
        self.heat_hi.setToolTip("Largest poke length (model pixels)")
        self.heat_batch = QSpinBox()
        self.heat_batch.setRange(1, 512)
        self.heat_batch.setToolTip("Videos generated per forward pass (larger is faster if memory allows)")
        self.heat_seed = QSpinBox()
        self.heat_seed.setRange(0, 2**31 - 1)
        self.heat_seed.setToolTip("Random seed of the poke directions and lengths (same seed = same heatmap)")
        hform.addRow("Pokes (N)", self.heat_n)
        hform.addRow("Shortest poke", self.heat_lo)
        hform.addRow("Longest poke", self.heat_hi)
        hform.addRow("Batch", self.heat_batch)
        hform.addRow("Seed", self.heat_seed)
        self.find_parts = QPushButton("Find parts")
        self.find_parts.setToolTip("Show the object's moving parts: the model is poked on a grid and pixels that "
                                   "move together are coloured alike (Ctrl+Shift+P)")
        hform.addRow(self.find_parts)
        layout.addWidget(heat)

        # ---- export ----
        export = QGroupBox("Export")
        ex = QHBoxLayout(export)
        self.export_video = QPushButton("Export video…")
        self.export_video.setToolTip("Save the generated video as MP4, GIF, PNG frames or a frame strip (Ctrl+E)")
        ex.addWidget(self.export_video)
        layout.addWidget(export)
        layout.addStretch(1)
        self.setWidget(body)
        self.setFrameShape(QFrame.Shape.NoFrame)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        """As wide as the contents' minimum plus the vertical scroll bar: nothing is ever cut at the right."""
        body = self.widget().minimumSizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        frame = 2 * self.frameWidth()
        return QSize(body.width() + bar + frame, min(body.height(), 120) + frame)

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.minimumSizeHint().width() + 20), hint.height())

    def set_samples(self, paths: list[Path]) -> None:
        """Fill the gallery with thumbnails of ``paths``."""
        self.samples.clear()
        for p in paths:
            pix = QPixmap(str(p))
            if pix.isNull():
                continue
            pix = pix.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            name = p.stem.replace("_", " ")
            item = QListWidgetItem(QIcon(pix), name)  # the name under the thumbnail
            item.setToolTip(f"{name} ({p.name}): click to open it")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            self.samples.addItem(item)
        has = self.samples.count() > 0
        self.samples.setVisible(has)
        self.no_samples.setVisible(not has)

    def mark_sample(self, path: str | None) -> None:
        """Highlight the thumbnail of ``path`` when it is a bundled sample, else none: the highlight
        follows the image shown, not the last click."""
        self.samples.clearSelection()
        shown = Path(path).resolve() if path else None
        for i in range(self.samples.count()):
            item = self.samples.item(i)
            if shown is not None and Path(item.data(Qt.ItemDataRole.UserRole)).resolve() == shown:
                item.setSelected(True)

    def _on_sample(self, item: QListWidgetItem) -> None:
        self.sampleChosen.emit(item.data(Qt.ItemDataRole.UserRole))
