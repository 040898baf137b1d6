"""The video player: the generated frames in a loop, with play/pause, a frame slider, fps and loop.

Frame 0 is the model's input (the source crop), frames 1..T are generated, so the loop starts
from the still image the user poked. The poke can be drawn over the frames (model pixels).
A video in which nothing moves (``Video.is_still``: a poke on the background) is labelled "still".
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QStyle, QToolButton, QVBoxLayout, QWidget,
)

from app.canvas import CRISP_SCALE, POKE_COLOR, numpy_to_qimage
from ipoke_core.poke import Poke

MIN_SLIDER_WIDTH = 120


class FrameView(QWidget):
    """Paints one frame, scaled to fit with its aspect ratio, plus optional poke arrows and badges."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.pokes: list[Poke] = []  # model pixels
        self.resolution = 1
        self.show_overlay = True
        self.smooth = False  # smooth magnified frames too (View ▸ Smooth video pixels); else crisp from CRISP_SCALE
        self.badge = ""  # e.g. "STILL"
        self.busy_text = ""  # e.g. "generating…"
        self.placeholder = "Drag on the image to poke it:\nthe generated video plays here."
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 420)

    def target_rect(self) -> QRectF:
        """Where the frame is drawn in widget coordinates."""
        if self.image is None:
            return QRectF()
        w, h = self.width(), self.height()
        side = min(w, h) - 8
        iw, ih = self.image.width(), self.image.height()
        s = side / max(iw, ih)
        return QRectF((w - iw * s) / 2, (h - ih * s) / 2, iw * s, ih * s)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(28, 29, 33))
        if self.image is None:
            p.setPen(QColor(170, 175, 185))
            f = QFont()
            f.setPointSize(12)
            p.setFont(f)
            # wrapped inside a margin: a narrow window must not cut the words at the edges
            p.drawText(self.rect().adjusted(12, 12, -12, -12),
                       int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.placeholder)
            self._draw_busy(p)
            return
        r = self.target_rect()
        # like the input canvas: magnified frames as crisp pixels (smoothing made a sharp frame look blurred),
        # unless the user prefers them smoothed (a photo's 64 px frame at 7x shows its pixels as blocks)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                        self.smooth or r.width() / self.image.width() < CRISP_SCALE)
        p.drawImage(r, self.image)
        if self.show_overlay and self.pokes:
            s = r.width() / self.resolution
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            for poke in self.pokes:
                a = QPointF(r.x() + (poke.x + 0.5) * s, r.y() + (poke.y + 0.5) * s)
                b = QPointF(a.x() + poke.dx * s, a.y() + poke.dy * s)
                _draw_arrow(p, a, b)
        if self.badge:
            f = QFont()
            f.setPointSize(11)
            f.setBold(True)
            p.setFont(f)
            # wrapped to the frame's width, so a narrow player shows all of it
            flags = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
            room = QRect(0, 0, max(int(r.width()) - 32, 40), 10_000)
            text_rect = p.fontMetrics().boundingRect(room, flags, self.badge).adjusted(-8, -4, 8, 4)
            text_rect.moveTopLeft(r.topLeft().toPoint() + QPointF(8, 8).toPoint())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(20, 20, 20, 200))
            p.drawRoundedRect(text_rect, 4, 4)
            p.setPen(QColor(255, 210, 80))
            p.drawText(text_rect, flags, self.badge)
        self._draw_busy(p)

    def _draw_busy(self, p: QPainter) -> None:
        if not self.busy_text:
            return
        f = QFont()
        f.setPointSize(10)
        p.setFont(f)
        rect = p.fontMetrics().boundingRect(self.busy_text).adjusted(-8, -4, 8, 4)
        rect.moveBottomRight(self.rect().bottomRight() - QPointF(10, 10).toPoint())
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 20, 20, 200))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QColor(200, 220, 255))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.busy_text)


def _draw_arrow(p: QPainter, a: QPointF, b: QPointF) -> None:
    d = b - a
    length = math.hypot(d.x(), d.y())
    for color, width in ((QColor(0, 0, 0, 160), 4.0), (POKE_COLOR, 2.0)):
        p.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(a, b)
    if length > 2:
        ux, uy = d.x() / length, d.y() / length
        size = min(10.0, length * 0.6)
        base = b - QPointF(ux, uy) * size
        n = QPointF(-uy, ux) * size * 0.5
        p.setPen(QPen(QColor(0, 0, 0, 160), 1.0))
        p.setBrush(POKE_COLOR)
        p.drawPolygon(QPolygonF([b, base + n, base - n]))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(QPen(POKE_COLOR, 2.0))
    p.drawEllipse(a, 3.5, 3.5)


class VideoPlayer(QWidget):
    """A looping player for a generated video: ``set_video(source, frames, pokes_model_px)``."""

    frameChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = FrameView()
        self._images: list[QImage] = []
        self._index = 0
        self.still = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)

        style = self.style()
        self._icon_play = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._icon_pause = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.play_button = QToolButton()
        self.play_button.setIcon(self._icon_play)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setAutoRaise(True)
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Frame: 0 is the input image, 1… are generated")
        self.slider.setMinimumWidth(MIN_SLIDER_WIDTH)  # a track to drag on, not just a handle
        self.slider.valueChanged.connect(self._on_slider)
        self.counter = QLabel("– / –")
        self.counter.setMinimumWidth(self.counter.fontMetrics().horizontalAdvance("000 / 000") + 4)
        self.counter.setToolTip("Current frame / last frame (frame 0 is the input)")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0.5, 60.0)
        self.fps.setDecimals(1)
        self.fps.setValue(8.0)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Playback speed in frames per second")
        self.fps.valueChanged.connect(self._on_fps)
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.loop.setToolTip("Start again from frame 0 after the last frame")
        self.overlay = QCheckBox("Show poke")
        self.overlay.setChecked(True)
        self.overlay.setToolTip("Draw the poke arrow over the video")
        self.overlay.toggled.connect(self._on_overlay)

        # two rows, so that each control keeps its size in a narrow window: the frame (play, slider,
        # counter), then how it plays (speed, loop, arrow)
        frame_row = QHBoxLayout()
        frame_row.setContentsMargins(4, 0, 4, 0)
        frame_row.addWidget(self.play_button)
        frame_row.addWidget(self.slider, 1)
        frame_row.addWidget(self.counter)
        options = QHBoxLayout()
        options.setContentsMargins(4, 0, 4, 0)
        options.addWidget(self.fps)
        options.addWidget(self.loop)
        options.addWidget(self.overlay)
        options.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.view, 1)
        layout.addLayout(frame_row)
        layout.addLayout(options)
        self._set_enabled(False)

    # ---- API ---------------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return len(self._images)

    @property
    def index(self) -> int:
        return self._index

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_video(self, source: np.ndarray, frames: np.ndarray, pokes: list[Poke], still: bool = False,
                  autoplay: bool = True, movement: str = "", resolution: int | None = None) -> None:
        """Show ``source (S, S, 3)`` then ``frames (T, S, S, 3) uint8``; ``pokes`` in model pixels of a
        ``resolution`` px model (default S; S is larger for a video drawn at the photo's resolution).

        ``still``: the object does not move (``Video.is_still``, e.g. a poke on the background);
        ``movement``: what moves, in words (``Video.movement``), shown on the STILL badge.
        """
        self._images = [numpy_to_qimage(source)] + [numpy_to_qimage(f) for f in frames]
        self.view.resolution = resolution or source.shape[1]
        self.view.pokes = list(pokes)
        self.still = still
        self.view.badge = (f"STILL — {movement or 'nothing moves'} (poke on the background?)"
                           if self.still else "")
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self._images) - 1)
        self.slider.blockSignals(False)
        self._set_enabled(True)
        self.seek(0)
        if autoplay:
            self.play()

    def clear(self) -> None:
        self.pause()
        self._images = []
        self.view.image = None
        self.view.pokes = []
        self.view.badge = ""
        self.still = False
        self._index = 0
        self.counter.setText("– / –")
        # an empty slider: the handle must not stay mid-track beside a "– / –" counter
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self._set_enabled(False)
        self.view.update()

    def set_busy(self, text: str) -> None:
        """A small "generating…" note in the corner; empty string hides it."""
        self.view.busy_text = text
        self.view.update()

    def seek(self, index: int) -> None:
        if not self._images:
            return
        self._index = max(0, min(index, len(self._images) - 1))
        self.view.image = self._images[self._index]
        self.counter.setText(f"{self._index} / {len(self._images) - 1}")
        self.slider.blockSignals(True)
        self.slider.setValue(self._index)
        self.slider.blockSignals(False)
        self.view.update()
        self.frameChanged.emit(self._index)

    def play(self) -> None:
        if len(self._images) < 2:
            return
        if self._index >= len(self._images) - 1 and not self.loop.isChecked():
            self.seek(0)
        self._timer.start(round(1000 / self.fps.value()))
        self.play_button.setIcon(self._icon_pause)

    def pause(self) -> None:
        self._timer.stop()
        self.play_button.setIcon(self._icon_play)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    # ---- internals ---------------------------------------------------------------------------
    def _advance(self) -> None:
        nxt = self._index + 1
        if nxt >= len(self._images):
            if not self.loop.isChecked():
                self.pause()
                return
            nxt = 0
        self.seek(nxt)

    def _on_slider(self, value: int) -> None:
        self.seek(value)

    def _on_fps(self, fps: float) -> None:
        if self._timer.isActive():
            self._timer.start(round(1000 / fps))

    def _on_overlay(self, on: bool) -> None:
        self.view.show_overlay = on
        self.view.update()

    def set_smooth(self, on: bool) -> None:
        """Draw magnified frames smoothed (True) or as crisp model pixels (False, the default)."""
        self.view.smooth = bool(on)
        self.view.update()

    def _set_enabled(self, on: bool) -> None:
        for w in (self.play_button, self.slider):
            w.setEnabled(on)
