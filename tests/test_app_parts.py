"""The app's parts view: found off the GUI thread, shown coloured, a click on a part gives its heatmap, saved.

Offscreen Qt, a fake motion-first model with two rigid blocks (tests/test_app_fakes.py).
"""
from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from test_app_fakes import PartsFakePoker, make_window, settings  # noqa: F401 - fixtures

from ipoke_core.analysis.parts_score import adjusted_rand_index

R = 32


def _open(qtbot, w):
    img = np.full((64, 64, 3), 120, np.uint8)  # a square image: the model's square is all of it, 2 px per model px
    w.set_image(img, "blocks.png")
    qtbot.waitUntil(lambda: w.image is not None)


def test_parts_are_found_off_the_gui_thread_and_shown(qtbot, make_window):
    gate = threading.Event()
    fake = PartsFakePoker(R, gate=gate)
    w = make_window(fake)
    _open(qtbot, w)
    assert w.side.find_parts.isEnabled() and w.acts.parts.isEnabled()
    w.side.find_parts.click()
    assert w.tabs.currentWidget() is w.parts_view
    qtbot.waitUntil(lambda: w.parts_view.cancel_button.isVisible(), timeout=5000)
    # the model is "running" (gated) and the window still answers: the GUI thread is free
    QTest.qWait(20)
    assert w.workspace.parts is None and w.parts_view.progress.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: w.workspace.parts is not None, timeout=10000)
    assert fake.threads and threading.main_thread().name not in fake.threads
    res = w.workspace.parts
    assert res.n_parts == 2
    assert adjusted_rand_index(fake.truth.ravel(), res.labels.ravel()) > 0.99
    assert w.parts_view.graphics.isVisible() and w.parts_view.save_png.isEnabled()
    assert "part&nbsp;2" in w.parts_view.legend.text() and "still" in w.parts_view.legend.text()
    assert not w.parts_view.cancel_button.isVisible()
    assert "2 part(s)" in w.parts_view.progress_label.text()


def test_clicking_a_part_shows_its_heatmap(qtbot, make_window):
    fake = PartsFakePoker(R)
    w = make_window(fake)
    _open(qtbot, w)
    w.compute_parts()
    qtbot.waitUntil(lambda: w.workspace.parts is not None, timeout=10000)
    # a click on the left block in the parts picture
    pos = w.parts_view.picture_point(10, 16)
    QTest.mouseClick(w.parts_view.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     pos)
    qtbot.waitUntil(lambda: len(w.workspace.heatmaps) == 1, timeout=15000)
    assert w.tabs.currentWidget() is w.heatmaps
    heat = w.workspace.heatmaps[0]
    assert abs(heat.location[0] - 10) < 0.6 and abs(heat.location[1] - 16) < 0.6
    # the heatmap lights the clicked block: it moves exactly with the poke, the other block does not
    left, right = fake.truth == 0, fake.truth == 1
    assert heat.heatmap[left].mean() > 0.9 and heat.heatmap[right].mean() < 0.1


def test_parts_cancel_new_image_clears_and_save(qtbot, make_window, tmp_path, monkeypatch):
    gate = threading.Event()
    fake = PartsFakePoker(R, gate=gate)
    w = make_window(fake)
    _open(qtbot, w)
    w.compute_parts()
    qtbot.waitUntil(lambda: w.parts_view.cancel_button.isVisible(), timeout=5000)
    w.parts_view.cancel_button.click()
    gate.set()
    qtbot.waitUntil(lambda: w.parts_view.progress_label.text() == "Cancelled", timeout=10000)
    assert w.workspace.parts is None
    w.compute_parts()
    qtbot.waitUntil(lambda: w.workspace.parts is not None, timeout=10000)
    from PySide6.QtWidgets import QFileDialog

    png, npy = tmp_path / "p.png", tmp_path / "p.npy"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(png), ""))
    w.parts_view.save_png.click()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(npy), ""))
    w.parts_view.save_npy.click()
    labels = np.load(npy)
    assert labels.shape == (64, 64) and set(np.unique(labels)) == {-1, 0, 1}  # in the image's pixels
    assert png.stat().st_size > 0
    # a new image: the parts go
    w.set_image(np.zeros((40, 60, 3), np.uint8), "other.png")
    qtbot.waitUntil(lambda: w.workspace.parts is None and not w.parts_view.graphics.isVisible(), timeout=5000)
