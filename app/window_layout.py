"""The window's widgets and where they sit: the input image on the left, the video / heatmaps / parts
tabs on the right, the banner above them, the Settings dock and the status bar's fields. Only
layout: what the widgets show and do is bound elsewhere (``app.bindings`` and the flows)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app import messages
from app.canvas import PokeCanvas
from app.heatmap_view import HeatmapView
from app.parts_view import PartsView
from app.player import VideoPlayer
from app.side_panel import SidePanel
from app.status_bar import ModelStatus
from app.widgets import StableHintLabel, muted_text_style


@dataclass(frozen=True)
class Views:
    banner: QLabel
    canvas: PokeCanvas
    hint: StableHintLabel
    player: VideoPlayer
    heatmaps: HeatmapView
    parts_view: PartsView
    tabs: QTabWidget
    splitter: QSplitter
    side: SidePanel
    dock: QDockWidget
    status: ModelStatus


def build_views(window: QMainWindow) -> Views:
    """Make the widgets and lay them out in ``window``."""
    banner = QLabel()
    banner.setWordWrap(True)
    banner.setTextFormat(Qt.TextFormat.RichText)
    banner.hide()
    canvas = PokeCanvas()
    # as tall as the longest hint at the current width: every line is shown, whatever the window's
    # width, and a hint that changes length does not resize (and refit) the canvas
    hint = StableHintLabel(messages.HINTS.values())
    hint.setStyleSheet(muted_text_style())
    hint.setContentsMargins(4, 2, 4, 2)
    left = QWidget()
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 0)
    left_layout.setSpacing(2)
    left_layout.addWidget(QLabel("<b>Input image</b>"))
    left_layout.addWidget(canvas, 1)
    left_layout.addWidget(hint)

    player, heatmaps, parts_view = VideoPlayer(), HeatmapView(), PartsView()
    tabs = QTabWidget()
    tabs.addTab(player, "Generated video")
    tabs.addTab(heatmaps, "Heatmaps")
    tabs.addTab(parts_view, "Parts")
    tabs.setTabToolTip(0, "The video generated from your poke (frame 0 is the input)")
    tabs.setTabToolTip(1, "Which pixels move together with a poked point (paper Fig. 5)")
    tabs.setTabToolTip(2, "The object's moving parts as the model moves them; click one for its heatmap")

    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(left)
    splitter.addWidget(tabs)
    splitter.setStretchFactor(0, 1)
    splitter.setStretchFactor(1, 1)
    splitter.setChildrenCollapsible(False)
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(6, 6, 6, 2)
    layout.addWidget(banner)
    layout.addWidget(splitter, 1)
    window.setCentralWidget(central)

    side = SidePanel()
    dock = QDockWidget("Settings", window)
    dock.setObjectName("settings-dock")
    dock.setWidget(side)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return Views(banner, canvas, hint, player, heatmaps, parts_view, tabs, splitter, side, dock,
                 ModelStatus(window.statusBar()))
