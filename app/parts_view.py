"""The model's moving parts over its input, coloured; a click on a part asks for its heatmap.

The parts come from ``ipoke_core.analysis.parts`` and belong to the workspace; the picture is the
core's ``render_parts`` (what "Save PNG" writes, over the model's square here), so the view and
the files agree. A legend names each part with its colour and share of the square.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.progress_strip import ProgressStrip
from ipoke_core.analysis.render import part_color, render_parts

if TYPE_CHECKING:
    from ipoke_core.analysis.parts import PartsResult

UPSCALE = 4  # the model's square is drawn at 4x: the part edges stay visible


class PartsView(QWidget):
    """One panel of coloured parts + legend + progress/cancel + find/save buttons."""

    computeRequested = Signal()
    cancelRequested = Signal()
    savePngRequested = Signal()
    saveNpyRequested = Signal()
    partClicked = Signal(float, float)  # model px of a click on a part

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: PartsResult | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((28, 29, 33))
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image_item)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self.placeholder = QLabel(
            "Parts: the model is poked all over the image, and pixels that move together are coloured "
            "alike.\nPress “Find parts”, then click a part to see its heatmap."
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #aab0ba; font-size: 12pt;")
        self.placeholder.setWordWrap(True)
        self.legend = QLabel("")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)

        self.strip = ProgressStrip("Stop finding the parts")
        self.strip.cancelRequested.connect(self.cancelRequested)
        self.progress, self.progress_label, self.cancel_button = self.strip.bar, self.strip.label, self.strip.cancel_button
        self.find_button = QPushButton("Find parts")
        self.find_button.setToolTip("Poke a grid of points over the image and group the pixels that move together")
        self.find_button.clicked.connect(self.computeRequested)
        self.save_png = QPushButton("Save PNG…")
        self.save_png.setToolTip("Save the parts coloured over the image, at the image's size")
        self.save_png.clicked.connect(self.savePngRequested)
        self.save_npy = QPushButton("Save .npy…")
        self.save_npy.setToolTip("Save the part labels, an array (H, W) in the image's pixels; -1 = still")
        self.save_npy.clicked.connect(self.saveNpyRequested)

        files = QHBoxLayout()
        files.addWidget(self.find_button)
        files.addStretch(1)
        files.addWidget(self.save_png)
        files.addWidget(self.save_npy)
        body = QHBoxLayout()
        body.addWidget(self.placeholder, 1)
        body.addWidget(self.graphics, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(body, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.strip)
        layout.addLayout(files)
        self.stop_progress("")
        self._refresh()

    # ---- results -----------------------------------------------------------------------------
    def set_result(self, result: PartsResult | None) -> None:
        """Show ``result`` (labels in model px over its source), or nothing."""
        self.result = result
        if result is not None:
            picture = render_parts(result.source, result.labels, upscale=UPSCALE)
            self.image_item.setImage(picture, autoLevels=False, levels=(0, 255))
            side = picture.shape[0]
            self.view.setRange(xRange=(0, side), yRange=(0, side), padding=0)
            self.legend.setText(self._legend(result))
        self._refresh()

    @staticmethod
    def _legend(result: PartsResult) -> str:
        total = result.labels.size
        items = []
        for k in range(result.n_parts):
            r, g, b = part_color(k)
            share = 100.0 * float((result.labels == k).sum()) / total
            # non-breaking spaces: a swatch never wraps away from its name
            items.append(f"<span style='color: rgb({r},{g},{b}); font-size: 14pt;'>■</span>&nbsp;part&nbsp;{k + 1}"
                         f"&nbsp;({share:.0f}&nbsp;%)")
        still = 100.0 * float((result.labels < 0).sum()) / total
        items.append(f"<span style='color: #777; font-size: 14pt;'>■</span>&nbsp;still&nbsp;({still:.0f}&nbsp;%)")
        return "&nbsp;&nbsp; ".join(items) + "<br><span style='color: #aab0ba;'>Click a part to see its heatmap.</span>"

    def _on_click(self, event) -> None:
        if self.result is None or event.button() != Qt.MouseButton.LeftButton:
            return
        p = self.view.mapSceneToView(event.scenePos())
        x, y = (p.x() + 0.5) / UPSCALE - 0.5, (p.y() + 0.5) / UPSCALE - 0.5  # picture px -> model px
        r = self.result.labels.shape[0]
        if -0.5 <= x <= r - 0.5 and -0.5 <= y <= r - 0.5:
            self.partClicked.emit(float(x), float(y))

    def picture_point(self, x: float, y: float):
        """Where model pixel ``(x, y)`` is drawn, in the graphics view's widget coordinates (for tests)."""
        scene = self.view.mapViewToScene(pg.Point((x + 0.5) * UPSCALE - 0.5, (y + 0.5) * UPSCALE - 0.5))
        return self.graphics.mapFromScene(scene)

    # ---- progress ----------------------------------------------------------------------------
    def start_progress(self, text: str, total: int) -> None:
        self.strip.start(text, total)
        self.find_button.setEnabled(False)

    def set_progress(self, done: int, total: int) -> None:
        self.strip.set(done, total)

    def stop_progress(self, text: str = "") -> None:
        self.strip.stop(text)
        self.find_button.setEnabled(True)

    def _refresh(self) -> None:
        has = self.result is not None
        self.placeholder.setVisible(not has)
        self.graphics.setVisible(has)
        self.legend.setVisible(has)
        self.save_png.setEnabled(has)
        self.save_npy.setEnabled(has)

    def labels(self) -> np.ndarray | None:
        return None if self.result is None else self.result.labels
