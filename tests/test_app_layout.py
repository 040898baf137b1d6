"""Issue 11, layout: every control stays usable and readable from 800×600 up (offscreen, pytest-qt).

For each visible control (button, slider, spin box, combo box, line edit, label with text) the
window must show it whole: its rectangle lies inside its parent's rectangle and inside every
ancestor's up to the window, except where an ancestor is a scroll area's viewport (it is then
reachable by scrolling, as long as that direction can scroll). It is not squeezed below its
minimum size hint, a word-wrapped label is tall enough for all its lines, and the frame slider
keeps a usable width. The window state is a realistic one: the bundled model's sidecar (with its
long measured-quality lines) on a FakePoker, an image, a generated video, and heatmap panels.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QLabel,
    QLineEdit, QWidget,
)

from test_app_fakes import FakePoker, gradient_image, make_window, settings  # noqa: F401 - fixtures
from test_app_window import open_array

from app.widgets import ElidedLabel
from ipoke_core.poke import Poke

CONTROLS = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QLabel)
MIN_SLIDER_WIDTH = 100


def is_control(w: QWidget) -> bool:
    if not isinstance(w, CONTROLS):
        return False
    parent = w.parentWidget()
    while parent is not None:  # the line edit inside a spin box is the spin box's own part, not a control
        if isinstance(parent, (QAbstractSpinBox, QComboBox)):
            return False
        parent = parent.parentWidget()
    if isinstance(w, QLabel):
        return bool(w.text().strip())
    return True


def _scroll_area_of_viewport(w: QWidget) -> QAbstractScrollArea | None:
    parent = w.parentWidget()
    if isinstance(parent, QAbstractScrollArea) and parent.viewport() is w:
        return parent
    return None


def _inside(inner: QRect, outer: QRect, horizontal: bool = True, vertical: bool = True) -> bool:
    h = outer.left() <= inner.left() and inner.right() <= outer.right()
    v = outer.top() <= inner.top() and inner.bottom() <= outer.bottom()
    return (h or not horizontal) and (v or not vertical)


def clipping_problems(window: QWidget) -> list[str]:
    """What is cut off, squeezed or out of reach among ``window``'s visible controls (empty when all is well)."""
    problems = []
    for w in window.findChildren(QWidget):
        if not w.isVisible() or not is_control(w) or w.window() is not window:
            continue
        name = f"{type(w).__name__} {w.objectName() or repr(getattr(w, 'text', lambda: '')())[:40]}"
        parent = w.parentWidget()
        if not _inside(w.geometry(), parent.rect()):
            problems.append(f"{name}: {w.geometry().getRect()} outside its parent {parent.rect().getRect()}")
        # up the chain: the part of the window the control is in must be on screen too
        child, rect = w, w.rect()
        while child is not window:
            parent = child.parentWidget()
            rect = rect.translated(child.pos())
            area = _scroll_area_of_viewport(parent)
            if area is not None:
                # reachable by scrolling, in the directions the scroll area can scroll
                fixed_h = area.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
                fixed_v = area.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
                if not _inside(rect, parent.rect(), fixed_h, fixed_v):
                    problems.append(f"{name}: out of reach in the scroll area {type(area).__name__}")
                child, rect = parent, parent.rect()  # from here on, the viewport must be visible
                continue
            if not _inside(rect, parent.rect()):
                problems.append(f"{name}: {rect.getRect()} cut off by {type(parent).__name__} "
                                f"{parent.objectName()} {parent.rect().getRect()}")
                break
            child = parent
        hint = w.minimumSizeHint()
        if w.width() < hint.width() or w.height() < hint.height():
            problems.append(f"{name}: {w.width()}×{w.height()} squeezed below its minimum "
                            f"{hint.width()}×{hint.height()}")
        if isinstance(w, QLabel) and w.wordWrap() and w.height() < w.heightForWidth(w.width()):
            problems.append(f"{name}: {w.height()} px tall, its {w.width()} px wide lines need "
                            f"{w.heightForWidth(w.width())}")
        if isinstance(w, ElidedLabel) and w.is_elided() and w.text() not in w.toolTip():
            problems.append(f"{name}: elided to {w.shown_text()!r} without the full text in its tooltip")
    return problems


SIZES = [(800, 600), "default"]  # "default": the size the window opens with (its size hint)


def settle(qtbot, window, size) -> tuple[int, int]:
    """Resize ``window`` to ``size`` and let its layouts settle; returns the size asked for."""
    if size == "default":
        size = (window.sizeHint().width(), window.sizeHint().height())
    window.resize(*size)
    for _ in range(5):  # layouts that depend on a width (wrapped labels) settle in a few rounds
        QApplication.processEvents()
        qtbot.wait(20)
    return size


def realistic_window(qtbot, make_window, tmp_path):
    """The window as a user sees it: the bundled model's description, an image, a video, heatmaps."""
    from app import resources
    from ipoke_core.analysis.heatmap import HeatmapResult

    sidecar = resources.CHECKPOINTS / "plants64.json"
    poker = FakePoker(resolution=64)
    if sidecar.is_file():  # the longest model line the app shows: the recorded test
        poker.meta = json.loads(sidecar.read_text())
        poker.meta["trained"] = True
    w = make_window(poker)
    open_array(qtbot, w, gradient_image(160, 120), tmp_path)
    w.canvas.set_pokes([Poke(80, 60, 6, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    w.player.pause()
    assert w.player.slider.isEnabled()
    source = w.video.source
    for i in range(3):
        heat = np.random.default_rng(i).random((64, 64)).astype(np.float32)
        w.heatmaps.add_result(HeatmapResult(heat, heat, (10.0 + 20 * i, 30.0), [], 16, 0.1), source)
    return w


@pytest.mark.parametrize("size", SIZES, ids=["800x600", "default"])
@pytest.mark.parametrize("tab", ["video", "heatmaps"])
def test_no_visible_control_is_clipped(qtbot, make_window, tmp_path, size, tab):
    w = realistic_window(qtbot, make_window, tmp_path)
    w.tabs.setCurrentIndex(0 if tab == "video" else 1)
    size = settle(qtbot, w, size)
    problems = clipping_problems(w)
    if (w.width(), w.height()) != size:
        problems.insert(0, f"the window cannot be made {size}: it is {w.width()}×{w.height()}")
    assert not problems, "\n".join(problems)
    if tab == "heatmaps":  # the panels (pyqtgraph items, not widgets) are whole in the view too
        view = w.heatmaps.graphics
        for panel in w.heatmaps.panels:
            shown = view.mapFromScene(panel.view.sceneBoundingRect()).boundingRect()
            assert _inside(shown.adjusted(1, 1, -1, -1), view.viewport().rect()), f"heatmap #{panel.number} is cut"
    if tab == "video":
        assert w.player.slider.width() >= MIN_SLIDER_WIDTH
        # the fps box beside, not over, the frame counter
        counter, fps = (QRect(x.mapTo(w, QPoint(0, 0)), x.size()) for x in (w.player.counter, w.player.fps))
        assert not counter.intersects(fps)


@pytest.mark.parametrize("size", SIZES, ids=["800x600", "default"])
def test_every_hint_fits_under_the_canvas(qtbot, make_window, tmp_path, size):
    """The hint under the canvas is never clipped, whichever hint is shown (its height does not jump)."""
    w = realistic_window(qtbot, make_window, tmp_path)
    settle(qtbot, w, size)
    heights = set()
    for mode in ("poke", "heatmap"):
        w.set_mode(mode)
        QApplication.processEvents()
        assert w.hint.height() >= w.hint.heightForWidth(w.hint.width()), w.hint.text()
        heights.add(w.hint.height())
    assert len(heights) == 1  # a longer hint does not resize (and refit) the canvas


def test_a_long_checkpoint_name_is_elided_with_its_full_name_in_the_tooltip(qtbot, make_window, tmp_path):
    w = realistic_window(qtbot, make_window, tmp_path)
    name = "plants64_seed7_lr3e-4_batch64_stage2_best_of_the_second_run_2026-11-26.safetensors"
    w.load_checkpoint(f"/home/someone/runs/{name}")
    qtbot.waitUntil(lambda: w.checkpoint_path.endswith(name), timeout=5000)
    settle(qtbot, w, (800, 600))
    assert (w.width(), w.height()) == (800, 600)  # the name does not make the window wider
    for label in (w.side.checkpoint_label, w.status.model):
        assert label.text().endswith(name.removesuffix(".safetensors")) or label.text() == name
        assert label.is_elided() and "…" in label.shown_text()
        assert name.removesuffix(".safetensors") in label.toolTip()
    assert clipping_problems(w) == []


def test_gallery_thumbnails_carry_their_names(qtbot, make_window):
    from app import resources

    w = make_window(FakePoker())
    items = [w.side.samples.item(i) for i in range(w.side.samples.count())]
    assert len(items) == len(resources.sample_images()) > 0
    for item, path in zip(items, resources.sample_images()):
        name = path.stem.replace("_", " ")
        assert item.text() == name and name in item.toolTip()


def test_the_model_description_shows_all_its_lines_at_every_size(qtbot, make_window, tmp_path):
    """Resized back and forth (as a user does, and as the README screenshots are taken), the model
    description keeps every line: its last line was cut after a resize on the real window."""
    w = realistic_window(qtbot, make_window, tmp_path)
    info = w.side.model_info
    for size in ("default", (800, 600), "default", (800, 600), (1024, 700)):
        settle(qtbot, w, size)
        needed = info.heightForWidth(info.width())
        assert info.height() >= needed, (size, info.height(), needed)


def test_a_narrow_window_gives_the_settings_a_tab_and_the_image_the_room(qtbot, make_window, tmp_path):
    """Issue 34 item 6: at 800x600 the Settings dock took 36 % of the width; below 1000 px it is a tab
    beside the video, and it goes back to its dock when the window is wide again."""
    w = realistic_window(qtbot, make_window, tmp_path)
    settle(qtbot, w, (1320, 780))
    assert w.tabs.indexOf(w.side) < 0 and w.dock.isVisible()
    settle(qtbot, w, (800, 600))
    assert w.tabs.indexOf(w.side) >= 0 and not w.dock.isVisible()
    assert w.canvas.width() > 0.4 * w.width()  # the input gets the room the dock had
    w.tabs.setCurrentWidget(w.side)
    QApplication.processEvents()
    assert w.side.isVisible() and clipping_problems(w) == []
    assert w.canvas.mode == "poke"  # the settings tab is no mode of its own
    settle(qtbot, w, (1320, 780))
    assert w.tabs.indexOf(w.side) < 0 and w.dock.isVisible() and w.dock.widget() is w.side
    assert w.tabs.currentWidget() is w.player
