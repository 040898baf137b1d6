"""The poke canvas: the source image, the square the model sees, and the user's pokes.

Coordinates: the scene is in source-image pixels, and pixel ``(i, j)`` covers the square
``[i, i+1) x [j, j+1)``. ``ipoke_core`` puts pixel centres at integer coordinates, so a scene
point ``p`` is the source point ``p - 0.5``. Everything this widget emits is in source pixels;
``ipoke_core.image.Framing`` maps them to the model.

Interaction (poke mode): press on the image inside the model's square, drag to the target,
release. An arrow goes from the poke point to the target, with a dot at the target. Without
Shift the new poke replaces the old ones; with Shift it is added. While dragging,
``pokePreview`` reports the pokes as they would be if released now (the window throttles them).
Dragging the dimmed area outside the square (or the square's frame) moves the square.
The canvas only shows and reports: the pokes, the square and the markers it shows are the
workspace's (``ipoke_core.session``), set by the window.
Heatmap mode: a click picks a location. The mouse wheel zooms, a double click fits the image.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor, QFont, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap, QPolygonF, QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView,
    QStyleOptionGraphicsItem, QWidget,
)

from ipoke_core.image import Framing, load_image
from ipoke_core.poke import POKE_COLOR as POKE_RGB, Poke

# from this magnification on, image pixels are drawn as crisp squares (nearest pixel), below it
# smoothed: a 64 px model frame shown at 7x stays as sharp as it is, a large photo shown reduced
# does not alias. The input canvas and the video player follow the same rule (the player unless
# View > Smooth video pixels is on), so a generated frame looks no softer than it is
CRISP_SCALE = 2.0

POKE_COLOR = QColor(*POKE_RGB)  # committed pokes (the colour exports draw them in too)
PREVIEW_COLOR = QColor(255, 200, 60)  # the poke being dragged
CROP_COLOR = QColor(80, 200, 255)
MARKER_COLORS = [QColor(c) for c in ("#40e0ff", "#7dff6a", "#ff6ad5", "#ffd24a", "#b08cff", "#ff8a4a")]
# mouse travel in screen pixels below which a press-release counts as a click, not a drag
CLICK_SLOP = 4
# how close (screen pixels) to the square's frame a press grabs the square
FRAME_GRAB = 7


def numpy_to_qimage(image: np.ndarray) -> QImage:
    """``(H, W, 3) uint8`` RGB -> a QImage that owns a copy of the pixels."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888).copy()


def qimage_to_numpy(image: QImage) -> np.ndarray:
    """Any QImage -> ``(H, W, 3) uint8`` RGB (alpha composited by ``load_image``)."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    a = buf.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()
    return load_image(a)


class PokeArrowItem(QGraphicsItem):
    """An arrow from the poke point to its target with a dot at the target, sized in screen pixels."""

    def __init__(self, poke: Poke, color: QColor, index: int | None = None) -> None:
        super().__init__()
        self.poke = poke
        self.color = color
        self.index = index
        self._screen_scale = 1.0  # screen pixels per scene unit, set by the canvas
        self.setZValue(10)

    def set_screen_scale(self, scale: float) -> None:
        if abs(scale - self._screen_scale) > 1e-9:
            self.prepareGeometryChange()
            self._screen_scale = scale

    def _points(self) -> tuple[QPointF, QPointF]:
        p = self.poke
        return QPointF(p.x + 0.5, p.y + 0.5), QPointF(p.x + p.dx + 0.5, p.y + p.dy + 0.5)

    def boundingRect(self) -> QRectF:
        a, b = self._points()
        m = 24.0 / max(self._screen_scale, 1e-6)
        return QRectF(a, b).normalized().adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        a, b = self._points()
        u = 1.0 / max(self._screen_scale, 1e-6)  # one screen pixel in scene units
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        line = b - a
        length = math.hypot(line.x(), line.y())
        outline = QPen(QColor(0, 0, 0, 170), 4.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        outline.setCosmetic(True)
        pen = QPen(self.color, 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        pen.setCosmetic(True)
        head = None
        if length * self._screen_scale > 2:
            ux, uy = line.x() / length, line.y() / length
            size = min(12 * u, length * 0.6)
            base = b - QPointF(ux, uy) * size
            nx, ny = -uy * size * 0.5, ux * size * 0.5
            head = QPolygonF([b, base + QPointF(nx, ny), base - QPointF(nx, ny)])
        for p in (outline, pen):
            painter.setPen(p)
            painter.drawLine(a, b if head is None else head[1] + (head[2] - head[1]) * 0.5)
        if head is not None:
            painter.setPen(QPen(QColor(0, 0, 0, 170), 1.5 * u))
            painter.setBrush(self.color)
            painter.drawPolygon(head)
        # the poke point: a ring; the target: a filled dot
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for p in (outline, pen):
            painter.setPen(p)
            painter.drawEllipse(a, 4 * u, 4 * u)
        painter.setPen(QPen(QColor(0, 0, 0, 200), 1.5 * u))
        painter.setBrush(QColor(255, 255, 255))
        painter.drawEllipse(b, 3.5 * u, 3.5 * u)
        if self.index is not None:
            painter.setPen(QColor(255, 255, 255))
            f = QFont()
            f.setPixelSize(max(1, round(11)))
            f.setBold(True)
            painter.save()
            painter.translate(a)
            painter.scale(u, u)
            painter.setFont(f)
            painter.drawText(QPointF(7, -7), str(self.index))
            painter.restore()


class MarkerItem(QGraphicsItem):
    """A numbered crosshair at a heatmap location (constant size on screen)."""

    def __init__(self, x: float, y: float, number: int) -> None:
        super().__init__()
        self.number = number
        self.color = MARKER_COLORS[(number - 1) % len(MARKER_COLORS)]
        self.setPos(x + 0.5, y + 0.5)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(11)

    def boundingRect(self) -> QRectF:
        return QRectF(-14, -26, 40, 40)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for color, width in ((QColor(0, 0, 0, 180), 4.0), (self.color, 2.0)):
            painter.setPen(QPen(color, width))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(0, 0), 6, 6)
            painter.drawLine(QPointF(-12, 0), QPointF(-7, 0))
            painter.drawLine(QPointF(7, 0), QPointF(12, 0))
            painter.drawLine(QPointF(0, -12), QPointF(0, -7))
            painter.drawLine(QPointF(0, 7), QPointF(0, 12))
        f = QFont()
        f.setPixelSize(12)
        f.setBold(True)
        painter.setFont(f)
        painter.setPen(QColor(0, 0, 0))
        painter.drawText(QPointF(10, -9), str(self.number))
        painter.setPen(self.color)
        painter.drawText(QPointF(9, -10), str(self.number))


class PokeCanvas(QGraphicsView):
    """Shows the source image and turns mouse gestures into pokes (source pixels)."""

    pokesChanged = Signal(list)  # list[Poke]: the committed pokes after a release, undo or clear
    pokePreview = Signal(list)  # list[Poke]: the pokes as they would be if the drag ended now
    locationPicked = Signal(float, float)  # heatmap mode: source pixel clicked
    framingChanged = Signal(object)  # Framing: the user moved the model's square
    message = Signal(str)  # a short hint for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setBackgroundBrush(QColor(28, 29, 33))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setMouseTracking(True)
        self.setMinimumSize(200, 200)  # small enough for an 800×600 window beside the player and settings
        # drops are handled by the main window
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)

        self._pixmap, self._shade, self._crop = _image_items(self.scene())

        self.image: np.ndarray | None = None
        self.framing: Framing | None = None
        self.mode = "poke"
        self.pokes: list[Poke] = []
        self.enabled_poking = True  # False while no model is loaded
        # what a press says while poking is off (the window says "loading…" while a model loads)
        self.disabled_message = "Load a checkpoint first (Model ▸ Open checkpoint…)."
        self._arrows: list[PokeArrowItem] = []
        self._markers: list[MarkerItem] = []
        self._drag_arrow: PokeArrowItem | None = None
        self._press: QPointF | None = None  # scene point of the press
        self._press_screen: QPointF | None = None
        self._additive = False
        self._moving_crop: tuple[float, float] | None = None  # framing origin at press
        self._user_zoomed = False
        self._empty_text = "Open an image (Ctrl+O), drop an image file here,\nor pick a sample on the right."

    # ---- content ------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray, framing: Framing) -> None:
        """Show ``image`` (H, W, 3) uint8 with the model's square ``framing``; clears pokes and markers."""
        self.image = image
        self._pixmap.setPixmap(QPixmap.fromImage(numpy_to_qimage(image)))
        h, w = image.shape[:2]
        # pad the scene so a letterboxed square fits inside it
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        # a drag in progress and the old arrows belong to the old image: remove them from the scene too
        self._cancel_drag()
        self.pokes = []
        self._rebuild_arrows()
        self.set_markers([])
        self.set_framing(framing)
        self._user_zoomed = False
        self.fit()

    def set_framing(self, framing: Framing) -> None:
        self.framing = framing
        self._show_square()
        h, w = (self.image.shape[:2]) if self.image is not None else (0, 0)
        self.scene().setSceneRect(QRectF(0, 0, w, h).united(self._crop_rect()))
        if not self._user_zoomed:
            self.fit()

    def _show_square(self) -> None:
        """The square's frame and the dimmed area around it (the image and a letterbox's padding)."""
        r = self._crop_rect()
        self._crop.setRect(r)
        h, w = (self.image.shape[:2]) if self.image is not None else (0, 0)
        outside = QPainterPath()
        outside.addRect(QRectF(0, 0, w, h).united(r))
        square = QPainterPath()
        square.addRect(r)
        self._shade.setPath(outside.subtracted(square))

    def _crop_rect(self) -> QRectF:
        f = self.framing
        if f is None:
            return QRectF()
        return QRectF(f.x0, f.y0, f.side, f.side)

    def set_mode(self, mode: str) -> None:
        """``"poke"`` (drag pokes) or ``"heatmap"`` (click picks a location)."""
        if mode not in ("poke", "heatmap"):
            raise ValueError(mode)
        self.mode = mode
        self._cancel_drag()
        for a in self._arrows:
            a.setVisible(mode == "poke")
        for m in self._markers:
            m.setVisible(mode == "heatmap")
        self.viewport().update()

    @property
    def dragging(self) -> bool:
        """Whether a poke drag is in progress."""
        return self._press is not None and self._moving_crop is None

    def set_pokes(self, pokes: list[Poke]) -> None:
        """The user's gesture ended with ``pokes``: show them and say so (``pokesChanged``)."""
        self.show_pokes(pokes)
        self.pokesChanged.emit(list(self.pokes))

    def show_pokes(self, pokes: list[Poke]) -> None:
        """Show ``pokes`` (the workspace's), saying nothing."""
        if list(pokes) != self.pokes or len(self._arrows) != len(self.pokes):
            self.pokes = list(pokes)
            self._rebuild_arrows()

    def set_markers(self, points: list[tuple[float, float]]) -> None:
        """Numbered crosshairs at heatmap locations (source pixels)."""
        for m in self._markers:
            self.scene().removeItem(m)
        self._markers = [MarkerItem(x, y, i + 1) for i, (x, y) in enumerate(points)]
        for m in self._markers:
            m.setVisible(self.mode == "heatmap")
            self.scene().addItem(m)

    def _rebuild_arrows(self) -> None:
        for a in self._arrows:
            self.scene().removeItem(a)
        numbered = len(self.pokes) > 1
        self._arrows = [PokeArrowItem(p, POKE_COLOR, i + 1 if numbered else None) for i, p in enumerate(self.pokes)]
        for a in self._arrows:
            a.set_screen_scale(self._screen_scale())
            a.setVisible(self.mode == "poke")
            self.scene().addItem(a)

    # ---- geometry -----------------------------------------------------------------------------
    def _screen_scale(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Scale the view so the whole image (and the model's square) fits."""
        r = self.scene().sceneRect()
        if r.isEmpty():
            return
        self.fitInView(r.adjusted(-r.width() * 0.02, -r.height() * 0.02, r.width() * 0.02, r.height() * 0.02),
                       Qt.AspectRatioMode.KeepAspectRatio)
        self._scale_changed()

    def _scale_changed(self) -> None:
        s = self._screen_scale()
        # magnified pixels stay crisp squares; reduced photos are smoothed
        mode = Qt.TransformationMode.FastTransformation if s >= CRISP_SCALE else Qt.TransformationMode.SmoothTransformation
        self._pixmap.setTransformationMode(mode)
        for a in self._arrows + ([self._drag_arrow] if self._drag_arrow else []):
            a.set_screen_scale(s)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if not self._user_zoomed and self._press is None:  # never move the image under a drag
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self.image is None:
            return
        factor = 1.0015 ** event.angleDelta().y()
        s = self._screen_scale() * factor
        if 0.02 < s < 200:
            self.scale(factor, factor)
            self._user_zoomed = True
            self._scale_changed()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._user_zoomed = False
        self.fit()

    def source_point(self, widget_pos: QPoint) -> tuple[float, float]:
        """Source pixel coordinates (pixel centres at integers) under a viewport position."""
        p = self.mapToScene(widget_pos)
        return p.x() - 0.5, p.y() - 0.5

    def widget_point(self, x: float, y: float) -> QPoint:
        """The viewport position nearest to source pixel ``(x, y)`` (inverse of ``source_point``)."""
        return self.mapFromScene(QPointF(x + 0.5, y + 0.5))

    def _grabs_square(self, scene: QPointF, inside: bool) -> bool:
        """Whether a press at ``scene`` moves the square: on its frame or outside it, if it can move."""
        f = self.framing
        movable = f is not None and (abs(f.side - f.width) > 0.5 or abs(f.side - f.height) > 0.5)
        tol = FRAME_GRAB / max(self._screen_scale(), 1e-6)  # in scene units
        return movable and (not inside or _on_frame(self._crop_rect(), scene, tol))

    # ---- mouse --------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.image is None or self.framing is None or event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        scene = self.mapToScene(event.position().toPoint())
        x, y = scene.x() - 0.5, scene.y() - 0.5
        inside = self.framing.contains(x, y)
        if self._grabs_square(scene, inside):
            self._moving_crop = (self.framing.x0, self.framing.y0)
            self._press = scene
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if not inside:
            self.message.emit("That point is outside the square the model sees (the bright area).")
            return
        if self.mode == "heatmap":
            self.locationPicked.emit(x, y)
            return
        if not self.enabled_poking:
            self.message.emit(self.disabled_message)
            return
        self._press = scene
        self._press_screen = event.position()
        self._additive = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        scene = self.mapToScene(event.position().toPoint())
        if self._moving_crop is not None and self._press is not None:
            d = scene - self._press
            self.framing = self.framing.moved(self._moving_crop[0] + d.x(), self._moving_crop[1] + d.y())
            self._show_square()
            return
        if self._press is not None and self._press_screen is not None:
            moved = event.position() - self._press_screen
            if math.hypot(moved.x(), moved.y()) < CLICK_SLOP and self._drag_arrow is None:
                return
            poke = _poke_between(self._press, scene)
            if self._drag_arrow is None:
                self._drag_arrow = PokeArrowItem(poke, PREVIEW_COLOR)
                self._drag_arrow.set_screen_scale(self._screen_scale())
                self.scene().addItem(self._drag_arrow)
                if not self._additive:
                    for a in self._arrows:
                        a.setVisible(False)
            else:
                self._drag_arrow.prepareGeometryChange()
                self._drag_arrow.poke = poke
                self._drag_arrow.update()
            self.pokePreview.emit(self._pokes_with(poke))
            return
        self._update_cursor(scene)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        scene = self.mapToScene(event.position().toPoint())
        if self._moving_crop is not None:
            start = self._moving_crop
            self._moving_crop = None
            self._press = None
            self._update_cursor(scene)
            if (self.framing.x0, self.framing.y0) != start:
                self.set_framing(self.framing)
                self.framingChanged.emit(self.framing)
            return
        if self._press is None:
            return
        was_drag = self._drag_arrow is not None
        poke = _poke_between(self._press, scene)
        self._cancel_drag()
        if not was_drag or poke.magnitude < 1e-3:
            self.message.emit("Drag from a point on the object to where it should move, then release.")
            for a in self._arrows:
                a.setVisible(self.mode == "poke")
            return
        self.set_pokes(self._pokes_with(poke))

    def _pokes_with(self, poke: Poke) -> list[Poke]:
        return (self.pokes + [poke]) if self._additive else [poke]

    def _cancel_drag(self) -> None:
        if self._drag_arrow is not None:
            self.scene().removeItem(self._drag_arrow)
            self._drag_arrow = None
        self._press = None
        self._press_screen = None

    def _update_cursor(self, scene: QPointF) -> None:
        if self.image is None or self.framing is None:
            self.viewport().unsetCursor()
            return
        inside = self.framing.contains(scene.x() - 0.5, scene.y() - 0.5)
        if self._grabs_square(scene, inside):
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif inside:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.viewport().unsetCursor()

    # ---- painting -----------------------------------------------------------------------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if self.image is not None:
            return
        painter.save()
        painter.resetTransform()
        _draw_note(painter, self.viewport().rect(), self._empty_text)
        painter.restore()


def _image_items(scene: QGraphicsScene) -> tuple[QGraphicsPixmapItem, QGraphicsPathItem, QGraphicsRectItem]:
    """The image, the dimmed area outside the model's square and the square's dashed frame, in ``scene``."""
    pixmap = QGraphicsPixmapItem()
    pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
    shade = QGraphicsPathItem()
    shade.setBrush(QColor(0, 0, 0, 140))
    shade.setPen(QPen(Qt.PenStyle.NoPen))
    shade.setZValue(5)
    frame = QGraphicsRectItem()
    pen = QPen(CROP_COLOR, 1.5, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    frame.setPen(pen)
    frame.setZValue(6)
    for item in (pixmap, shade, frame):
        scene.addItem(item)
    return pixmap, shade, frame


def _on_frame(square: QRectF, p: QPointF, tol: float) -> bool:
    """Whether ``p`` lies within ``tol`` of the edge of ``square`` (scene units)."""
    return square.adjusted(-tol, -tol, tol, tol).contains(p) and not square.adjusted(tol, tol, -tol, -tol).contains(p)


def _poke_between(a: QPointF, b: QPointF) -> Poke:
    """The poke from scene point ``a`` to ``b``, in source pixels (pixel centres at integers)."""
    return Poke(a.x() - 0.5, a.y() - 0.5, b.x() - a.x(), b.y() - a.y())


def _draw_note(painter: QPainter, rect, text: str) -> None:
    painter.setPen(QColor(170, 175, 185))
    f = QFont()
    f.setPointSize(12)
    painter.setFont(f)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
