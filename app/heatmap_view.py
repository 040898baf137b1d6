"""Correlation heatmaps (paper Fig. 5) over the model's input, one panel per poke location.

Each panel shows the model's input crop with the heatmap on top (pyqtgraph ``ImageItem`` with a
colormap), a numbered crosshair at the poke location and a title. Scale: by default every panel is
drawn on the map's own absolute scale, 0 (still) to 1 (moves exactly with the poke), so a weak map
looks weak; *shared* fits one scale to the range of the whole set, *each its own* stretches every
panel to its own range (a weak correlation is not left black). When the poked point itself does not
move under the pokes the panel says so and draws no map (``HeatmapResult.point_moves``). One
histogram/LUT widget then sets the colour levels of all panels (its axis stays put while a handle
is dragged); the opacity slider fades the heatmaps over the image. Save writes a paper-style figure (PNG) or the raw heatmaps, one per location (.npy).
The heatmaps themselves come from ``ipoke_core.analysis.heatmap`` and belong to the workspace
(``ipoke_core.session``, which also saves them); this module only displays them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget,
)

from app.canvas import MARKER_COLORS
from app.progress_strip import ProgressStrip
from ipoke_core.analysis.render import COLORMAPS as CORE_COLORMAPS
from ipoke_core.session import heatmap_stack

if TYPE_CHECKING:
    from ipoke_core.analysis.heatmap import HeatmapResult

# the core's colormaps (what a saved heatmap PNG uses) that pyqtgraph ships a lookup table for
COLORMAPS = [name for name in CORE_COLORMAPS if name in pg.colormap.listMaps()]
MAX_COLUMNS = 3
# a grid column is never narrower than this (px): a narrow view stacks the panels instead of cutting them
MIN_PANEL_WIDTH = 130
# auto-levels never stretch a range narrower than this (1 % of the heatmap scale) to full brightness
MIN_LEVEL_SPAN = 0.01
# how the panels' colours are scaled: (setting value, label)
SCALES = [("absolute", "Absolute (0-1)"), ("shared", "Shared"), ("own", "Each its own")]
# the colour bar's unit: what a heatmap value means, or that each panel is stretched
UNIT, RELATIVE_UNIT = "share of the poke followed", "relative to each map"


@dataclass
class HeatmapPanel:
    """What one grid cell shows."""

    number: int
    result: HeatmapResult
    source: np.ndarray  # (R, R, 3) uint8, the model input the heatmap belongs to
    view: pg.ViewBox
    heat_item: pg.ImageItem
    note: pg.TextItem | None = None  # "this point does not move", over a point the pokes leave in place


class HeatmapView(QWidget):
    """Grid of heatmap panels + shared LUT + opacity + progress/cancel + save buttons."""

    cancelRequested = Signal()
    savePngRequested = Signal()
    saveNpyRequested = Signal()
    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels: list[HeatmapPanel] = []
        self.colormap_name = "inferno"

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((28, 29, 33))
        self.graphics.ci.setSpacing(6)
        self._columns = 0  # columns of the panel grid as laid out
        self.graphics.installEventFilter(self)  # a resize may change how many columns fit
        self.placeholder = QLabel(
            "Heatmap mode: click a point on the object in the image on the left.\n"
            "The model is poked there many times in random directions; the heatmap shows which "
            "pixels move together with that point (bright = strongly correlated). Click more "
            "points to compare them side by side."
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #aab0ba; font-size: 12pt;")
        self.placeholder.setWordWrap(True)

        # the shared LUT: bound to a hidden master item, copied to every panel
        self._master = pg.ImageItem(axisOrder="row-major")
        self.lut = pg.HistogramLUTWidget(image=self._master, orientation="vertical")
        self.lut.setToolTip("Colour levels of all heatmaps: drag the handles to change the range.\n"
                            "Each new heatmap re-fits them to show its range.")
        self.lut.item.sigLevelsChanged.connect(self._sync_lut)
        self.lut.item.sigLookupTableChanged.connect(self._sync_lut)
        self.lut.setMinimumWidth(110)

        self.strip = ProgressStrip("Stop computing this heatmap")
        self.strip.cancelRequested.connect(self.cancelRequested)
        # the strip's parts, by the names the window and the tests use
        self.progress, self.progress_label, self.cancel_button = self.strip.bar, self.strip.label, self.strip.cancel_button

        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setToolTip("Opacity of the heatmap over the image")
        self.opacity.setMinimumWidth(100)
        self.opacity.setMaximumWidth(400)  # on a wide screen it stays a slider, not a ruler
        self.opacity.valueChanged.connect(self._apply_opacity)
        self.colormap = QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.colormap.setToolTip("Colour map of the heatmaps")
        self.colormap.currentTextChanged.connect(self.set_colormap)
        self.scale = QComboBox()
        for value, label in SCALES:
            self.scale.addItem(label, value)
        self.scale.setToolTip("Absolute: 0 = still, 1 = moves exactly with the poke, the same for every map, so a "
                              "weak one looks weak.\nShared: one scale fitted to the whole set.\nEach its own: every "
                              "map stretched to its own range, so a weak one is visible too.")
        self.scale.currentIndexChanged.connect(lambda _i: self.auto_levels())
        self.unit = QLabel(UNIT)
        self.unit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unit.setWordWrap(True)  # under the colour bar, never wider than it
        self.unit.setMaximumWidth(110)
        self.save_png = QPushButton("Save PNG…")
        self.save_png.setToolTip("Save a paper-style figure (Fig. 5): the input with numbered points, then each heatmap")
        self.save_png.clicked.connect(self.savePngRequested)
        self.save_npy = QPushButton("Save .npy…")
        self.save_npy.setToolTip("Save the raw heatmaps, an array (locations, R, R) in [0, 1], in panel order")
        self.save_npy.clicked.connect(self.saveNpyRequested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove all heatmaps")
        self.clear_button.clicked.connect(self.clearRequested)

        # short rows, so that every control keeps its size in a narrow window
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addStretch(0)
        colour_row = QHBoxLayout()
        colour_row.addWidget(QLabel("Colours"))
        colour_row.addWidget(self.colormap)
        colour_row.addWidget(QLabel("Scale"))
        colour_row.addWidget(self.scale)
        colour_row.addStretch(1)
        files = QHBoxLayout()
        files.addStretch(1)
        files.addWidget(self.save_png)
        files.addWidget(self.save_npy)
        files.addWidget(self.clear_button)
        body = QHBoxLayout()
        body.addWidget(self.placeholder, 1)
        body.addWidget(self.graphics, 1)
        legend = QVBoxLayout()
        legend.addWidget(self.lut, 1)
        legend.addWidget(self.unit)
        body.addLayout(legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(body, 1)
        layout.addWidget(self.strip)
        layout.addLayout(opacity_row)
        layout.addLayout(colour_row)
        layout.addLayout(files)
        self.set_colormap(self.colormap_name)
        self._refresh()

    # ---- results -----------------------------------------------------------------------------
    def add_result(self, result: HeatmapResult, source: np.ndarray) -> int:
        """Add a panel for ``result`` (heatmap (R, R) in [0, 1], location in model px); returns its number."""
        number = len(self.panels) + 1
        view = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False)
        view.setMenuEnabled(False)
        view.addItem(pg.ImageItem(source, axisOrder="row-major"))
        heat = pg.ImageItem(axisOrder="row-major")  # its image is set by auto_levels
        heat.setOpacity(self.opacity.value() / 100)
        view.addItem(heat)
        lx, ly = result.location
        color = MARKER_COLORS[(number - 1) % len(MARKER_COLORS)]
        marker = pg.ScatterPlotItem([lx + 0.5], [ly + 0.5], symbol="+", size=16,
                                    pen=pg.mkPen(color, width=2.5), brush=None)
        view.addItem(marker)
        r = source.shape[0]
        note = None
        if not result.point_moves:  # no map of a point that does not move: the panel says so instead
            note = pg.TextItem("this point\ndoes not move", color=(240, 240, 240), fill=(20, 20, 20, 190),
                               anchor=(0.5, 0.5))
            note.setPos(r / 2, r / 2)
            view.addItem(note)
        view.setRange(xRange=(0, r), yRange=(0, r), padding=0)
        self.panels.append(HeatmapPanel(number, result, source, view, heat, note))
        self._relayout()
        self.auto_levels()
        self._refresh()
        return number

    def scale_mode(self) -> str:
        """``"absolute"``, ``"shared"`` or ``"own"`` (``SCALES``)."""
        return self.scale.currentData()

    def set_scale_mode(self, mode: str) -> None:
        index = self.scale.findData(mode)
        if index < 0:
            raise ValueError(f"unknown heatmap scale {mode!r}; one of {[v for v, _ in SCALES]}")
        self.scale.setCurrentIndex(index)

    def auto_levels(self) -> None:
        """Fit the levels to the heatmaps shown: the absolute scale [0, 1], one scale fitted to the
        whole set, or each panel to its own range.

        With each its own range every panel shows its heatmap rescaled to [0, 1] over that range,
        so the one histogram and its handles work on that relative scale for every panel. A panel
        whose poked point does not move shows no map at all.
        """
        if not self.panels:
            return
        raw = [np.asarray(p.result.heatmap, np.float32) if p.result.point_moves
               else np.zeros_like(p.result.heatmap, np.float32) for p in self.panels]
        mode = self.scale_mode()
        if mode == "absolute":
            lo, hi, shown = 0.0, 1.0, raw
        elif mode == "shared":
            lo = min(float(h.min()) for h in raw)
            hi = max(lo + MIN_LEVEL_SPAN, max(float(h.max()) for h in raw))
            shown = raw
        else:
            shown = []
            for h in raw:
                h_lo = float(h.min())
                span = max(float(h.max()) - h_lo, MIN_LEVEL_SPAN)
                shown.append((h - h_lo) / span)
            lo, hi = 0.0, 1.0
        self.unit.setText(RELATIVE_UNIT if mode == "own" else UNIT)
        for p, data in zip(self.panels, shown):
            p.heat_item.setImage(data, autoLevels=False, levels=(lo, hi))
        self._master.setImage(np.concatenate([d.ravel() for d in shown])[None, :], autoLevels=False, levels=(lo, hi))
        # a fixed axis: with auto-range it followed the handle, so a drag rescaled the axis, not the panels
        self.lut.item.setHistogramRange(lo, hi, padding=0.05)
        self.lut.item.setLevels(lo, hi)
        self._sync_lut()

    def clear(self) -> None:
        self.panels = []
        self.graphics.ci.clear()
        self._refresh()

    def heatmaps(self) -> np.ndarray:
        """``(L, R, R) float32``: the heatmaps in panel order."""
        return heatmap_stack([p.result for p in self.panels])

    # ---- progress ----------------------------------------------------------------------------
    def start_progress(self, text: str, total: int) -> None:
        self.strip.start(text, total)

    def set_progress(self, done: int, total: int) -> None:
        self.strip.set(done, total)

    def stop_progress(self, text: str = "") -> None:
        self.strip.stop(text)

    # ---- display -----------------------------------------------------------------------------
    def set_colormap(self, name: str) -> None:
        self.colormap_name = name
        if self.colormap.currentText() != name:
            self.colormap.setCurrentText(name)
        self.lut.item.gradient.setColorMap(pg.colormap.get(name))
        self._sync_lut()

    def set_opacity(self, value: float) -> None:
        self.opacity.setValue(round(value * 100))

    def _apply_opacity(self, value: int) -> None:
        for p in self.panels:
            p.heat_item.setOpacity(value / 100)

    def _sync_lut(self, *args) -> None:
        levels = self.lut.item.getLevels()
        lut = self.lut.item.getLookupTable(n=256)
        for p in self.panels:
            p.heat_item.setLookupTable(lut)
            p.heat_item.setLevels(levels)

    def columns(self) -> int:
        """Columns of the panel grid: near-square (3 panels as 2 + 1, not 3 slivers side by side),
        at most ``MAX_COLUMNS``, and only as many as fit the view's width."""
        n = len(self.panels)
        fit = max(1, self.graphics.width() // MIN_PANEL_WIDTH)
        return max(1, min(math.ceil(math.sqrt(n)), MAX_COLUMNS, fit))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.graphics and event.type() == QEvent.Type.Resize and self.panels:
            if self.columns() != self._columns:
                self._relayout()
        return super().eventFilter(watched, event)

    def _relayout(self) -> None:
        self.graphics.ci.clear()
        cols = self._columns = self.columns()
        for i, p in enumerate(self.panels):
            row, col = divmod(i, cols)
            x, y = p.result.location
            title = f"#{p.number} at ({x:.0f}, {y:.0f})"
            label = self.graphics.addLabel(title, row=2 * row, col=col, color="#d8dce4", size="10pt")
            label.setMaximumHeight(18)
            self.graphics.addItem(p.view, row=2 * row + 1, col=col)

    def _refresh(self) -> None:
        has = bool(self.panels)
        self.placeholder.setVisible(not has)
        self.graphics.setVisible(has)
        self.lut.setVisible(has)
        self.unit.setVisible(has)  # the colour bar's legend goes with it
        for w in (self.save_png, self.save_npy, self.clear_button):
            w.setEnabled(has)
