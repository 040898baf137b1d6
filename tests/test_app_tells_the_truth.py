"""The app tells the truth: what it shows, says and suggests matches what is so. One test per bug,
driven through the real widgets (offscreen), with a FakePoker (tests/test_app_fakes.py) in place of
the network; plus the model's measured quality in the side panel, the banner and ``ipoke info``.
"""
from __future__ import annotations

import argparse
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QStandardPaths, Qt
from PySide6.QtGui import qGray
from PySide6.QtTest import QTest

from test_app_fakes import FakePoker, gradient_image, make_window, settings  # noqa: F401 - fixtures
from test_app_window import open_array

from ipoke_core.poke import Poke

GOOD_EVALUATION = {"date": "2026-11-26", "data": "data/plants64 (test)", "poke_accuracy_px": 0.9,
                   "motion_error_px": 1.2, "static_poke_accuracy_px": 1.9, "static_motion_error_px": 1.8,
                   "flow_warp_motion_error_px": 1.3}
# poke accuracy only 5 % better than a video that does not move
WEAK_EVALUATION = dict(GOOD_EVALUATION, poke_accuracy_px=1.8)


def arrows(canvas) -> list:
    from app.canvas import PokeArrowItem

    return [i for i in canvas.scene().items() if isinstance(i, PokeArrowItem)]


def poked(qtbot, w, tmp_path, size=(64, 64)) -> None:
    open_array(qtbot, w, gradient_image(*size), tmp_path)
    w.canvas.set_pokes([Poke(size[0] / 2, size[1] / 2, 6, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)


# ---- 1. ghost arrow -----------------------------------------------------------------------------
def test_no_ghost_arrow_after_continue_and_original(qtbot, make_window, tmp_path):
    w = make_window(FakePoker(resolution=32))
    poked(qtbot, w, tmp_path, (100, 64))
    assert len(arrows(w.canvas)) == 1
    w.acts.continue_.trigger()
    assert arrows(w.canvas) == []  # the old image's arrow went with it
    w.canvas.set_pokes([Poke(16, 16, 4, 0)])  # a poke on the half-scale continued image
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    w.back_to_original()
    assert w.image.shape == (64, 100, 3)
    assert arrows(w.canvas) == [] and w.canvas.pokes == []
    assert not w.side.undo.isEnabled() and not w.acts.clear.isEnabled()
    open_array(qtbot, w, gradient_image(80, 80), tmp_path, "next.png")
    assert arrows(w.canvas) == []


# ---- 2. heatmap levels ------------------------------------------------------------------------------
def _result(heatmap: np.ndarray, location=(16.0, 16.0)):
    from ipoke_core.analysis.heatmap import HeatmapResult

    return HeatmapResult(heatmap=heatmap.astype(np.float32), variance=np.zeros_like(heatmap), location=location,
                         pokes=[], n=8, elapsed_s=0.1)


def _shown(view, panel, x: int, y: int) -> int:
    """Grey level the panel shows at model pixel ``(x, y)``."""
    image = view.graphics.grab().toImage()
    pt = view.graphics.mapFromScene(panel.view.mapViewToScene(QPointF(x + 0.5, y + 0.5)))
    return qGray(image.pixel(pt))


def test_heatmap_levels_show_a_weak_correlation_and_the_handles_change_the_panels(qtbot, make_window):
    """Absolute scale by default (a weak map looks weak), each its own range on request (it is visible),
    the LUT handles change every panel, a shared scale keeps panels comparable, and a poked point that
    does not move gets no map but a title that says so (issue 34 item 4)."""
    w = make_window(FakePoker(resolution=32))
    view = w.heatmaps
    w.tabs.setCurrentWidget(view)
    view.opacity.setValue(100)
    weak = np.zeros((32, 32), np.float32)
    weak[4:28, 4:12] = 0.3  # a weak but real correlation; the poked point (8, 16) follows 30 % of the pokes
    weak[4:28, 12:20] = 0.15  # half as strong
    source = np.zeros((32, 32, 3), np.uint8)
    view.add_result(_result(weak, (8.0, 16.0)), source)
    qtbot.wait(50)
    p = view.panels[0]
    assert view.scale_mode() == "absolute" and tuple(p.heat_item.levels) == pytest.approx((0.0, 1.0))
    dim = _shown(view, p, 8, 8)
    view.set_scale_mode("own")
    qtbot.wait(50)
    assert _shown(view, p, 8, 8) > 150 and _shown(view, p, 8, 8) > dim + 60  # stretched: visible, not dim
    assert _shown(view, p, 26, 26) < 40  # still pixels stay dark
    half = _shown(view, p, 16, 8)
    assert 30 < half < _shown(view, p, 8, 8)

    # drag the top level handle halfway down with the mouse: the axis stays, the panels change
    lut = view.lut.item
    axis = lut.vb.viewRange()[1]
    lo, hi = lut.getLevels()
    vp = view.lut.viewport()
    x = view.lut.mapFromScene(lut.vb.mapToScene(lut.vb.boundingRect().center())).x()
    y_top = view.lut.mapFromScene(lut.vb.mapViewToScene(QPointF(0, hi))).y()
    y_mid = view.lut.mapFromScene(lut.vb.mapViewToScene(QPointF(0, (lo + hi) * 0.45))).y()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, y_top))
    for i in range(1, 9):
        QTest.mouseMove(vp, QPoint(x, round(y_top + (y_mid - y_top) * i / 8)))
        qtbot.wait(5)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, y_mid))
    qtbot.wait(50)
    new_lo, new_hi = lut.getLevels()
    assert new_hi < lo + (hi - lo) * 0.6
    assert lut.vb.viewRange()[1] == pytest.approx(axis)
    assert tuple(p.heat_item.levels) == pytest.approx((new_lo, new_hi))
    assert _shown(view, p, 16, 8) > half + 40  # the half-strength stripe is now bright too

    # a strong heatmap next to it: own ranges look alike, one comparable scale when shared or absolute
    strong = np.zeros((32, 32), np.float32)
    strong[4:28, 4:12] = 0.9
    view.add_result(_result(strong, (8.0, 8.0)), source)
    qtbot.wait(50)
    weak_panel, strong_panel = view.panels
    assert _shown(view, weak_panel, 8, 8) > 150 and _shown(view, strong_panel, 8, 20) > 150
    view.set_scale_mode("shared")
    qtbot.wait(50)
    assert lut.getLevels() == pytest.approx((0.0, 0.9))
    assert _shown(view, weak_panel, 8, 8) < _shown(view, strong_panel, 8, 20) - 60
    view.set_scale_mode("absolute")
    qtbot.wait(50)
    assert lut.getLevels() == pytest.approx((0.0, 1.0))
    assert _shown(view, weak_panel, 8, 8) < _shown(view, strong_panel, 8, 20) - 60

    # a point on empty background: the pokes do not move it, so no blob, and the title says why
    blob = np.zeros((32, 32), np.float32)
    blob[20:30, 20:30] = 0.8  # the model moved something nearby, not the poked point (24, 4)
    view.add_result(_result(blob, (24.0, 4.0)), source)
    qtbot.wait(50)
    still_panel = view.panels[2]
    assert not still_panel.result.point_moves
    assert _shown(view, still_panel, 24, 24) < 40
    assert still_panel.note is not None and still_panel.note.textItem.toPlainText() == "this point\ndoes not move"
    assert still_panel.note.isVisible() and weak_panel.note is None
    w.close()
    assert w.settings.get("heatmap_scale") == "absolute"


# ---- 3. sidecar with wrong-typed sections ------------------------------------------------------------
@pytest.mark.parametrize("key,value", [("data_stats", [0.5, 4.0]), ("training", "6226 steps"),
                                       ("evaluation", ["poke", 0.9])])
def test_sidecar_of_the_wrong_type_is_refused_and_never_remembered(qtbot, make_window, key, value):
    good, bad = FakePoker(), FakePoker()
    bad.meta[key] = value
    pokers = {"good.safetensors": good, "bad.safetensors": bad}
    w = make_window(None, factory=lambda path, device: pokers[path])
    w.load_checkpoint("good.safetensors")
    qtbot.waitUntil(lambda: w.poker is good, timeout=5000)
    w.settings.set("last_checkpoint", "bad.safetensors")  # as an older version remembered it
    w.expect_errors = True
    w.load_checkpoint("bad.safetensors")
    qtbot.waitUntil(lambda: bool(w.errors), timeout=5000)
    title, text = w.errors[0][:2]
    assert title == "Cannot load checkpoint" and key in text and "Still using good.safetensors" in text
    assert w.poker is good and w.checkpoint_path == "good.safetensors"
    assert w.settings.get("last_checkpoint") == "good.safetensors"
    assert not w.banner.isVisible() and w.canvas.enabled_poking
    w.save_settings()
    assert w.settings.get("last_checkpoint") == "good.safetensors"


# ---- 4. frame slider after Clear -------------------------------------------------------------------
def test_clear_resets_the_frame_slider(qtbot, make_window, tmp_path):
    w = make_window(FakePoker(seq_len=6))
    poked(qtbot, w, tmp_path)
    w.player.pause()
    w.player.seek(4)
    assert w.player.slider.value() == 4
    w.acts.clear.trigger()
    qtbot.waitUntil(lambda: w.video is None and w.player.n_frames == 0, timeout=5000)
    assert w.player.counter.text() == "– / –"
    assert (w.player.slider.value(), w.player.slider.maximum()) == (0, 0)
    assert not w.player.slider.isEnabled()


# ---- 5. hint while the model loads --------------------------------------------------------------------
def test_hint_says_the_model_is_loading(qtbot, make_window, tmp_path):
    gate = threading.Event()
    fake = FakePoker()

    def slow_load(path, device):
        gate.wait(5)
        return fake

    w = make_window(None, factory=slow_load)
    try:
        w.load_checkpoint("fake.safetensors")  # the start order: model first, then the image
        open_array(qtbot, w, gradient_image(), tmp_path)
        assert "Loading the model" in w.banner.text()
        assert "Load a checkpoint" not in w.hint.text() and "loading" in w.hint.text().lower()
        assert "loading" in w.canvas.disabled_message
    finally:
        gate.set()
    qtbot.waitUntil(lambda: w.poker is fake, timeout=5000)
    assert w.hint.text().startswith("Drag on the image")


# ---- 6. export dialog frame count ------------------------------------------------------------------
def _capture_dialog(monkeypatch, accept=None) -> list:
    """Make ``ExportDialog.exec`` record the dialog and the path it suggests instead of blocking;
    ``accept(dialog)`` may fill it in."""
    from app.export_dialog import ExportDialog

    seen = []

    def exec_(dialog):
        seen.append((dialog, dialog.path.text()))
        if accept is None:
            return 0
        accept(dialog)
        return 1

    monkeypatch.setattr(ExportDialog, "exec", exec_)
    return seen


def test_export_dialog_says_how_many_frames_are_written(qtbot, make_window, tmp_path, monkeypatch):
    from app.export_dialog import ExportRequest

    w = make_window(FakePoker(seq_len=6))
    poked(qtbot, w, tmp_path)
    seen = _capture_dialog(monkeypatch)
    w.export_dialog()
    dialog = seen[0][0]
    dialog.format.setCurrentIndex(dialog.format.findData("mp4"))
    assert "7 frames" in dialog.size_label.text()  # the input + 6 generated
    dialog.format.setCurrentIndex(dialog.format.findData("frames"))
    said = int(re.search(r"(\d+) PNG files", dialog.size_label.text()).group(1))
    out = tmp_path / "frames"
    w.export(ExportRequest("frames", out, upscale=1, overlay=False))
    qtbot.waitUntil(lambda: not w.io_lane.is_busy() and out.is_dir(), timeout=10000)
    assert said == len(list(out.glob("*.png")))


# ---- 7. first export folder ---------------------------------------------------------------------
def test_export_never_suggests_the_install_tree(qtbot, make_window, tmp_path, monkeypatch):
    from app import resources

    samples = resources.sample_images()
    if not samples:
        pytest.skip("no bundled samples")
    w = make_window(FakePoker())
    w.open_image(str(samples[0]))
    qtbot.waitUntil(lambda: w.image_name == samples[0].name, timeout=5000)
    w.canvas.set_pokes([Poke(w.image.shape[1] / 2, w.image.shape[0] / 2, 4, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    exports = tmp_path / "exports"
    exports.mkdir()

    def accept(dialog):
        dialog.format.setCurrentIndex(dialog.format.findData("strip"))
        dialog.path.setText(str(exports / "strip.png"))

    seen = _capture_dialog(monkeypatch, accept)
    w.export_dialog()
    first = Path(seen[0][1]).parent
    assert not first.resolve().is_relative_to(resources.ROOT.resolve())
    standard = [QStandardPaths.writableLocation(k) for k in (QStandardPaths.StandardLocation.MoviesLocation,
                QStandardPaths.StandardLocation.PicturesLocation, QStandardPaths.StandardLocation.HomeLocation)]
    assert str(first) in standard + [str(Path.home())]
    qtbot.waitUntil(lambda: not w.io_lane.is_busy() and (exports / "strip.png").exists(), timeout=10000)
    w.export_dialog()  # the next one suggests the last export's folder
    assert Path(seen[1][1]).parent == exports


# ---- 8. quit does not wait for the model ---------------------------------------------------------
def test_quit_is_prompt_while_the_model_works(qtbot, make_window, tmp_path):
    gate = threading.Event()
    fake, other = FakePoker(gate=gate), FakePoker()
    w = make_window(fake)
    w.poker_factory = lambda path, device: other
    open_array(qtbot, w, gradient_image(), tmp_path)
    w.canvas.set_pokes([Poke(30, 30, 5, 0)])
    qtbot.waitUntil(lambda: fake.generate_calls == 1, timeout=5000)  # a forward pass is running
    w.load_checkpoint("other.safetensors")  # waiting behind it
    opener = threading.Timer(10, gate.set)  # the pass ends by itself 10 s on, if quit waited for it
    opener.start()
    w.acts.quit.trigger()  # Ctrl+Q
    quit_waited = gate.is_set()
    gate.set()
    opener.cancel()
    assert not quit_waited and fake.finished_calls == 0  # quit returned while the model still ran
    assert not w.isVisible()
    # the running pass ends on its own; its result (and nothing queued) is used any more
    assert w.model_lane.wait(5000)
    qtbot.wait(50)
    assert w.video is None and w.poker is fake


# ---- the model's measured quality -------------------------------------------------------------------
def test_model_line_shows_the_measured_quality(qtbot, make_window):
    fake = FakePoker()
    fake.meta["training"] = {"steps": 6226, "data_command": "ipoke synth --kind plant --n 2000 --size 64"}
    fake.meta["evaluation"] = dict(GOOD_EVALUATION, drag_px=0.31)
    w = make_window(fake)
    text = w.side.model_info.text()
    assert "trained 6226 steps" in text and "2026-11-26" in text and "lower is better" in text
    assert "the poked point lands 0.90 px from where it should (a video that stands still 1.90 px" in text
    assert ("the motion of the whole image is off by 1.20 px (a video that stands still 1.80 px; "
            "the flow-warp baseline 1.30 px)") in text
    assert "shown still" not in text  # no motion dead zone
    assert "shift pokes" not in text and "K=" not in text  # no jargon (issue 34 item 3)
    assert "trained 6226 steps on synthetic plants" in text
    assert "drags the still background beside a 2 px poke by 0.31 px" in text
    assert not w.banner.isVisible()


def test_model_line_names_the_motion_dead_zone(qtbot, make_window):
    fake = FakePoker()
    fake.config.decoder, fake.config.motion_deadzone_px = "warp", 0.3
    w = make_window(fake)
    assert "motion under 0.3 px is shown still" in w.side.model_info.text()


def test_banner_warns_when_the_model_barely_responds_to_pokes(qtbot, make_window):
    fake = FakePoker()
    fake.meta["evaluation"] = WEAK_EVALUATION
    w = make_window(fake)
    assert w.banner.isVisible() and "barely responds to pokes" in w.banner.text()
    assert "1.80 px" in w.banner.text() and "1.90 px" in w.banner.text()


def test_ipoke_info_prints_the_measured_quality(tmp_path, capsys):
    from ipoke_core.checkpoint import save_checkpoint
    from ipoke_core.commands import info
    from ipoke_core.config import ModelConfig
    from ipoke_core.model import IPoke

    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=16, depth=2, seq_len=4)
    for name, evaluation in (("good", GOOD_EVALUATION), ("weak", WEAK_EVALUATION)):
        meta = {"trained": True, "evaluation": evaluation}
        path = save_checkpoint(tmp_path / f"{name}.safetensors", IPoke(cfg), meta)
        assert info.run(argparse.Namespace(checkpoint=path, json=False, card=False)) == 0
        out = capsys.readouterr().out
        assert "tested 2026-11-26 on data/plants64 (test)" in out
        assert "the poked point lands 0.90 px" in out or name == "weak"
        assert ("barely responds to pokes" in out) == (name == "weak")
    assert info.weak_response_warning({}) is None and info.evaluation_lines({"evaluation": "bad"}) == []


def test_export_dialog_never_replaces_without_asking(qtbot, tmp_path, monkeypatch):
    """Issue 10, data loss: an export over an earlier one is confirmed; a folder with other files is refused."""
    from PySide6.QtWidgets import QMessageBox

    from app.export_dialog import ExportDialog

    answers = []

    def ask(*args, **kwargs):
        answers.append(args[2])
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", ask)
    (tmp_path / "old.mp4").write_bytes(b"an earlier export")
    dialog = ExportDialog(str(tmp_path), "old", 64, 10, kind="mp4")
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "old.mp4"))
    dialog._accept()
    assert answers and "old.mp4 already exists" in answers[0] and dialog.result() != dialog.DialogCode.Accepted
    album = tmp_path / "album"
    album.mkdir()
    (album / "holiday.jpg").write_bytes(b"precious")
    dialog.format.setCurrentIndex(dialog.format.findData("frames"))
    dialog.path.setText(str(album))
    dialog._accept()
    assert "already holds other files" in dialog.error.text() and len(answers) == 1
    assert (album / "holiday.jpg").read_bytes() == b"precious"


def test_long_heatmap_progress_says_the_time_left(qtbot, monkeypatch):
    import app.heatmap_view as hv
    import app.progress_strip as strip

    view = hv.HeatmapView()
    qtbot.addWidget(view)
    now = [100.0]
    monkeypatch.setattr(strip.time, "monotonic", lambda: now[0])
    view.start_progress("Heatmap #1", 64)
    now[0] += 3.0  # 16 of 64 pokes in 3 s: about 9 s to go
    view.set_progress(16, 64)
    assert "about 9 s left" in view.progress.format()
    view.start_progress("Heatmap #2", 64)
    now[0] += 0.1  # a fast one says nothing about time
    view.set_progress(16, 64)
    assert view.progress.format() == "%v / %m pokes"
