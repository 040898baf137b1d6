"""Secondary text (hints, the model summary, the export size) is readable: WCAG AA contrast, 4.5:1."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from app.widgets import muted_text_style
from test_app_fakes import FakePoker, make_window, settings  # noqa: F401 - fixtures


def _luminance(c: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in c.getRgbF()[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("window, text", [("#efefef", "#000000"), ("#ffffff", "#1e1e1e"), ("#353535", "#ffffff"),
                                          ("#1e1e1e", "#dddddd")])
def test_muted_text_keeps_wcag_aa_contrast_on_light_and_dark_palettes(qapp, window, text):
    old = QGuiApplication.palette()
    pal = QPalette(old)
    pal.setColor(QPalette.ColorRole.Window, QColor(window))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(text))
    QGuiApplication.setPalette(pal)
    try:
        muted = QColor(muted_text_style().removeprefix("color: ").rstrip(";"))
        assert contrast(muted, QColor(window)) >= 4.5
    finally:
        QGuiApplication.setPalette(old)


def test_the_model_summary_and_the_hints_use_the_readable_colour(qtbot, make_window):  # noqa: F811
    w = make_window(FakePoker())
    style = muted_text_style()
    assert w.side.model_info.styleSheet() == style and style in w.side.no_samples.styleSheet()
    assert w.hint.styleSheet() == style
