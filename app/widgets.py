"""Small label widgets that keep text readable at any window size.

``ElidedLabel`` shows one line and cuts it with "…" where it does not fit (its tooltip then holds
the whole text), so a long file name never forces the window wider. ``StableHintLabel`` wraps its
text and is always as tall as the longest of the texts it may show at its current width, so a
changing hint is never clipped and never resizes the widgets around it.
"""
from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """A one-line plain-text label that elides what does not fit; the tooltip then shows the full text.

    ``text()`` is always the full text; only the painting is cut.
    """

    def __init__(self, text: str = "", elide: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._elide = elide
        self._tip = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._update_tip()

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - Qt's name
        self._tip = tip
        self._update_tip()

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def shown_text(self) -> str:
        """The text as painted: elided to the label's width."""
        return self.fontMetrics().elidedText(self.text(), self._elide, self.contentsRect().width())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        m = self.contentsMargins()
        fm = self.fontMetrics()
        width = min(fm.horizontalAdvance(self.text()), fm.horizontalAdvance("M…M"))
        return QSize(width + m.left() + m.right(), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._update_tip()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        self.style().drawItemText(p, self.contentsRect(), int(self.alignment()), self.palette(), self.isEnabled(),
                                  self.shown_text(), self.foregroundRole())

    def _update_tip(self) -> None:
        tip = self._tip
        if self.text() and self.is_elided() and self.text() not in tip:
            tip = f"{self.text()}\n{tip}" if tip else self.text()
        super().setToolTip(tip)


class StableHintLabel(QLabel):
    """A word-wrapped plain-text label as tall as the tallest of ``texts`` at its width (a height for width).

    The layout gives it that height, so switching between the texts never changes its size and
    never clips a line, however narrow the window.
    """

    def __init__(self, texts: Iterable[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._texts = list(texts)
        self._probe = QLabel()  # measures texts that are not shown (never shown itself)
        self._probe.setTextFormat(Qt.TextFormat.PlainText)
        self._probe.setWordWrap(True)
        self._heights: dict[int, int] = {}

    def set_texts(self, texts: Iterable[str]) -> None:
        self._texts = list(texts)
        self._heights.clear()
        self.updateGeometry()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        known = text in self._texts
        super().setText(text)
        if not known:
            self._heights.clear()
            self.updateGeometry()

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        if width not in self._heights:
            probe = self._probe
            probe.setFont(self.font())
            probe.setContentsMargins(self.contentsMargins())
            probe.setIndent(self.indent())
            probe.setMargin(self.margin())
            heights = []
            for text in {*self._texts, self.text()}:
                probe.setText(text)
                heights.append(probe.heightForWidth(width))
            self._heights[width] = max(heights)
        return self._heights[width]

    def sizeHint(self) -> QSize:  # noqa: N802
        width = super().sizeHint().width()
        return QSize(width, self.heightForWidth(max(self.width(), 1)))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(super().minimumSizeHint().width(), self.heightForWidth(max(self.width(), 1)))

    def changeEvent(self, event) -> None:  # noqa: N802
        self._heights.clear()
        super().changeEvent(event)


class WrappedLabel(QLabel):
    """A word-wrapped label that is always as tall as its text at its current width.

    A wrapped QLabel inside a form layout inside a scroll area gets the height of its text at its
    *minimum* width only once; when its text grows later (a longer model description), the last
    lines were cut off. Pinning the minimum height to ``heightForWidth`` on every text or width
    change keeps every line visible.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        height = self.heightForWidth(max(1, self.width())) if self.text() else 0
        if height != self.minimumHeight():
            self.setMinimumHeight(max(0, height))


def muted_text_style(share: float = 0.72) -> str:
    """A style sheet colour for secondary text (hints, the model summary) that stays readable: the
    window text blended ``share`` of the way from the window background, which keeps a contrast of
    at least 4.5:1 (WCAG AA) with the light and dark palettes. ``palette(mid)`` gave ~1.9:1 on the
    light palette: the summary read as disabled (issue 34)."""
    pal = QGuiApplication.palette()
    fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    mix = QColor.fromRgbF(*(bg_c + share * (fg_c - bg_c) for fg_c, bg_c in
                            zip(fg.getRgbF()[:3], bg.getRgbF()[:3])))
    return f"color: {mix.name()};"
