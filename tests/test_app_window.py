"""The desktop app, driven like a user would: open an image, drag a poke, watch, export, load models.

Offscreen Qt (tests/conftest.py). The model is a FakePoker (tests/test_app_fakes.py) except in
the checkpoint test, which saves and loads a real tiny checkpoint through ``ipoke_core``.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest

from test_app_fakes import FakePoker, gradient_image, make_window, settings  # noqa: F401 - fixtures

from ipoke_core.poke import Poke

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model


def drag(qtbot, canvas, start: tuple[float, float], end: tuple[float, float], steps: int = 5,
         shift: bool = False) -> None:
    """Press at source pixel ``start``, move in ``steps`` to ``end`` and release there."""
    vp = canvas.viewport()
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    a, b = canvas.widget_point(*start), canvas.widget_point(*end)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, mods, a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        QTest.mouseMove(vp, QPoint(round(p.x()), round(p.y())))
        qtbot.wait(5)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, mods, b)


def open_array(qtbot, window, image: np.ndarray, tmp_path, name: str = "img.png"):
    path = tmp_path / name
    Image.fromarray(image).save(path)
    window.open_image(str(path))
    qtbot.waitUntil(lambda: window.image is not None and window.image_name == name, timeout=5000)
    return path


def test_open_image_shows_it_with_the_models_square(qtbot, make_window, tmp_path):
    w = make_window(FakePoker(resolution=32))
    img = gradient_image(120, 80)
    open_array(qtbot, w, img, tmp_path)
    assert np.array_equal(w.image, img)
    assert w.canvas.image is w.image
    # centre crop: an 80x80 square in the middle of the 120x80 image
    f = w.framing
    assert (f.x0, f.y0, f.side, f.resolution) == (20.0, 0.0, 80.0, 32)
    assert "img.png" in w.windowTitle()
    assert w.settings.get("last_folder") == str(tmp_path)


def test_bad_image_file_shows_an_error_and_keeps_the_image(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window(FakePoker())
    open_array(qtbot, w, gradient_image(), tmp_path)
    before = w.image
    w.expect_errors = True
    errors = w.errors
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    w.open_image(str(bad))
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors[0][0] == "Cannot open image" and "broken.png" in errors[0][1]
    assert w.image is before


def test_drag_on_canvas_pokes_the_right_image_pixel(qtbot, make_window, tmp_path):
    fake = FakePoker(resolution=32)
    w = make_window(fake)
    w.side.live_preview.setChecked(False)
    open_array(qtbot, w, gradient_image(120, 80), tmp_path)
    drag(qtbot, w.canvas, (50, 40), (58, 35))
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    assert len(fake.calls) == 1
    (poke,), framing = fake.calls[0]
    # a view pixel is a fraction of an image pixel here; the mapping must be exact to within it
    px = 1 / w.canvas.transform().m11()
    assert px < 0.4
    assert poke.x == pytest.approx(50, abs=px) and poke.y == pytest.approx(40, abs=px)
    assert poke.dx == pytest.approx(8, abs=2 * px) and poke.dy == pytest.approx(-5, abs=2 * px)
    assert framing == w.framing
    # in model pixels: (x - x0 + 0.5) * R / side - 0.5 with x0 = 20, side = 80, R = 32
    mp = w.video.pokes[0]
    assert mp.x == pytest.approx((50 - 20 + 0.5) * 0.4 - 0.5, abs=0.4 * px)
    assert mp.dx == pytest.approx(8 * 0.4, abs=0.8 * px)
    assert w.canvas.pokes == [poke]
    # the video plays at once and the status bar shows the inference time
    assert w.player.n_frames == fake.config.seq_len + 1
    qtbot.waitUntil(lambda: w.player.playing)
    assert w.status.time.text().startswith("Last inference:")


def test_shift_drag_adds_pokes_and_undo_removes_them(qtbot, make_window, tmp_path):
    fake = FakePoker(resolution=32)
    w = make_window(fake)
    w.side.live_preview.setChecked(False)
    open_array(qtbot, w, gradient_image(80, 80), tmp_path)
    drag(qtbot, w.canvas, (20, 20), (30, 20))
    drag(qtbot, w.canvas, (60, 60), (60, 50), shift=True)
    qtbot.waitUntil(lambda: len(fake.calls) == 2 and len(fake.calls[-1][0]) == 2, timeout=5000)
    assert len(w.canvas.pokes) == 2
    w.acts.undo.trigger()  # Ctrl+Z
    qtbot.waitUntil(lambda: len(fake.calls) == 3, timeout=5000)
    assert len(fake.calls[-1][0]) == 1 and fake.calls[-1][0][0].x == pytest.approx(20, abs=0.3)
    drag(qtbot, w.canvas, (40, 40), (45, 45))  # no Shift: replaces
    qtbot.waitUntil(lambda: len(fake.calls) == 4, timeout=5000)
    assert len(w.canvas.pokes) == 1 and w.canvas.pokes[0].x == pytest.approx(40, abs=0.3)
    w.clear_pokes()
    qtbot.waitUntil(lambda: w.video is None and w.player.n_frames == 0, timeout=5000)


def test_live_preview_latest_request_wins(qtbot, make_window, tmp_path):
    fake = FakePoker(resolution=32, delay=0.15)
    w = make_window(fake)
    open_array(qtbot, w, gradient_image(64, 64), tmp_path)
    vp = w.canvas.viewport()
    start = w.canvas.widget_point(30, 30)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    moves = 40
    for i in range(1, moves + 1):
        QTest.mouseMove(vp, start + QPoint(i * 2, 0))
        qtbot.wait(10)
    end = start + QPoint(moves * 2, 0)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    final = w.canvas.pokes[0]
    qtbot.waitUntil(lambda: not w.model_lane.is_busy(), timeout=10000)
    qtbot.wait(50)
    # previews were generated while dragging, far fewer than mouse moves (throttled, coalesced)
    previews = len(fake.calls) - 1
    assert 1 <= previews < moves // 2
    # and the video shown is the one of the final poke, not a stale preview
    assert fake.calls[-1][0] == [final]
    assert w.video.pokes[0] == w.framing.poke_to_model(final)


def test_background_poke_gives_a_still_video(qtbot, make_window, tmp_path):
    w = make_window(FakePoker(still=True))
    open_array(qtbot, w, gradient_image(64, 64), tmp_path)
    w.canvas.set_pokes([Poke(5, 5, 6, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    assert w.player.still and "STILL" in w.player.view.badge


def test_ui_thread_keeps_processing_events_while_the_model_runs(qtbot, make_window, tmp_path):
    # the model runs until the test lets it finish: no wall-clock bound, so a slow or busy machine
    # cannot fail this, and a GUI thread that waited for the model could not pass it
    gate = threading.Event()
    fake = FakePoker(gate=gate)
    w = make_window(fake)
    open_array(qtbot, w, gradient_image(64, 64), tmp_path)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    w.canvas.set_pokes([Poke(30, 30, 5, 5)])
    assert fake.finished_calls == 0  # submitting returned while the model is still at work
    qtbot.waitUntil(lambda: fake.generate_calls == 1 and len(ticks) > 30, timeout=10000)  # the loop ticks on
    assert fake.finished_calls == 0 and w.video is None
    gate.set()
    qtbot.waitUntil(lambda: w.video is not None, timeout=10000)
    timer.stop()
    assert threading.main_thread().name not in fake.threads


def test_player_advances_loops_and_pauses(qtbot, make_window, tmp_path):
    w = make_window(FakePoker())
    p = w.player
    frames = np.zeros((5, 16, 16, 3), np.uint8)
    frames[:, :, :] = np.arange(1, 6, dtype=np.uint8)[:, None, None, None] * 40
    p.fps.setValue(50)
    p.set_video(np.zeros((16, 16, 3), np.uint8), frames, [], autoplay=True)
    seen = set()
    p.frameChanged.connect(seen.add)
    qtbot.waitUntil(lambda: seen >= {0, 1, 2, 3, 4, 5}, timeout=3000)  # wrapped around: looping
    assert p.counter.text().endswith("/ 5")
    w.acts.play.trigger()  # Space
    assert not p.playing
    i = p.index
    qtbot.wait(100)
    assert p.index == i
    p.loop.setChecked(False)
    p.seek(3)
    p.play()
    qtbot.waitUntil(lambda: not p.playing, timeout=2000)
    assert p.index == 5  # stopped on the last frame


def test_heatmap_mode_with_cancel(qtbot, make_window, tmp_path, monkeypatch):
    from ipoke_core.analysis import heatmap

    # the production generate decodes last frames with the real network; the fake has none
    monkeypatch.setattr(heatmap, "poker_generate_fn", lambda poker, source, batch_size=16: (
        lambda pokes: poker.generate(source, [[p] for p in pokes], batch_size)))
    fake = FakePoker(resolution=32, delay=0.05)
    w = make_window(fake)
    open_array(qtbot, w, gradient_image(64, 64), tmp_path)
    w.acts.mode_heat.trigger()
    assert w.canvas.mode == "heatmap" and w.tabs.currentWidget() is w.heatmaps
    w.side.heat_n.setValue(400)
    w.side.heat_batch.setValue(4)
    vp = w.canvas.viewport()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, w.canvas.widget_point(32, 32))
    qtbot.waitUntil(lambda: w.heatmaps.progress.value() >= 8, timeout=5000)
    assert w.heatmaps.cancel_button.isVisible()
    assert len(w.workspace.heat_points) == 1
    QTest.mouseClick(w.heatmaps.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.model_lane.is_busy(), timeout=5000)
    qtbot.wait(20)
    assert w.heatmaps.panels == [] and w.workspace.heat_points == []
    assert not w.heatmaps.cancel_button.isVisible()
    assert fake.generate_calls < 100  # stopped long before 400 / 4 batches
    # a small one runs to the end and appears as a panel, its marker stays on the canvas
    w.side.heat_n.setValue(8)
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, w.canvas.widget_point(20, 40))
    qtbot.waitUntil(lambda: len(w.heatmaps.panels) == 1, timeout=10000)
    res = w.heatmaps.panels[0].result
    assert res.heatmap.shape == (32, 32) and res.n == 8
    assert res.location == pytest.approx(w.framing.to_model(20, 40), abs=0.3)
    assert len(w.workspace.heat_points) == 1
    out = tmp_path / "heat.npy"
    np.save(out, w.heatmaps.heatmaps())
    assert np.load(out).shape == (1, 32, 32)


def test_export_writes_a_decodable_mp4(qtbot, make_window, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from app.export_dialog import ExportRequest

    fake = FakePoker(resolution=32, seq_len=6)
    w = make_window(fake)
    open_array(qtbot, w, gradient_image(64, 64), tmp_path)
    w.canvas.set_pokes([Poke(30, 30, 8, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    out = tmp_path / "out" / "poked.mp4"
    job = w.export(ExportRequest("mp4", out, upscale=2, overlay=True))
    qtbot.waitUntil(lambda: not w.io_lane.is_busy() and out.exists(), timeout=30000)
    assert job.payload["request"].path == out
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = list(reader)
    assert meta["size"] == (64, 64)
    assert len(frames) == fake.config.seq_len + 1  # the source and the generated frames


def test_export_error_is_shown_in_a_dialog(qtbot, make_window, tmp_path, monkeypatch):
    from app.export_dialog import ExportRequest

    w = make_window(FakePoker())
    open_array(qtbot, w, gradient_image(64, 64), tmp_path)
    w.canvas.set_pokes([Poke(30, 30, 8, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    w.expect_errors = True
    errors = w.errors
    w.export(ExportRequest("mp4", tmp_path / "x.avi", 1, True))
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors[0][0] == "Export failed" and ".avi" in errors[0][1]


def test_continue_from_last_frame_makes_it_the_new_source(qtbot, make_window, tmp_path):
    fake = FakePoker(resolution=32)
    w = make_window(fake)
    open_array(qtbot, w, gradient_image(100, 64), tmp_path)
    w.canvas.set_pokes([Poke(50, 30, 6, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    last = w.video.frames[-1].copy()
    w.acts.continue_.trigger()
    assert np.array_equal(w.image, last) and w.image.shape == (32, 32, 3)
    assert (w.framing.side, w.framing.x0, w.framing.y0) == (32.0, 0.0, 0.0)
    assert w.video is None and w.canvas.pokes == []
    assert "step 2" in w.image_name and w.acts.original.isEnabled()
    w.back_to_original()
    assert w.image.shape == (64, 100, 3)


def test_paste_from_clipboard(qtbot, make_window):
    w = make_window(FakePoker())
    img = gradient_image(40, 30)
    qimg = QImage(img.data, 40, 30, 120, QImage.Format.Format_RGB888).copy()
    QGuiApplication.clipboard().setImage(qimg)
    w.acts.paste.trigger()
    qtbot.waitUntil(lambda: w.image is not None, timeout=5000)
    assert np.array_equal(w.image, img)
    mime = QMimeData()
    mime.setText("hello")
    assert not w.images.open_mime(mime, "drop")


def test_moving_the_crop_changes_what_the_model_sees(qtbot, make_window, tmp_path):
    fake = FakePoker(resolution=32)
    w = make_window(fake)
    open_array(qtbot, w, gradient_image(160, 80), tmp_path)
    assert w.framing.x0 == 40
    # drag the dimmed area left of the square to the right by 20 image pixels
    drag(qtbot, w.canvas, (10, 40), (30, 40))
    assert w.framing.x0 == pytest.approx(60, abs=0.5)
    # pokes go through the moved framing
    w.canvas.set_pokes([Poke(100, 40, 5, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    assert fake.calls[-1][1].x0 == pytest.approx(60, abs=0.5)


def test_settings_are_remembered(qtbot, make_window, settings):
    w = make_window(FakePoker())
    w.side.heat_n.setValue(123)
    w.player.fps.setValue(12.5)
    w.side.letterbox.setChecked(True)
    w.acts.smooth.setChecked(True)
    w.close()
    w2 = make_window(None, settings=settings)
    assert w2.side.heat_n.value() == 123
    assert w2.player.fps.value() == 12.5
    assert w2.side.letterbox.isChecked()
    assert w2.acts.smooth.isChecked() and w2.player.view.smooth  # restored and applied
    assert w2.settings.get("last_checkpoint") == "fake.safetensors"


def test_banner_says_when_no_model_or_an_untrained_one_is_loaded(qtbot, make_window):
    w = make_window(None)
    assert w.banner.isVisible() and "No model loaded" in w.banner.text()
    assert not w.canvas.enabled_poking
    w2 = make_window(FakePoker(trained=False))
    assert w2.banner.isVisible() and "Untrained" in w2.banner.text()
    w3 = make_window(FakePoker(trained=True))
    assert not w3.banner.isVisible()
    assert w3.status.resolution.text() == "32×32 px" and w3.status.device.text() == "Device: cpu"


def test_real_checkpoint_loads_and_a_corrupt_one_keeps_the_old_model(qtbot, make_window, tmp_path, monkeypatch):
    from app.main_window import load_poker
    from ipoke_core.checkpoint import save_checkpoint
    from ipoke_core.config import ModelConfig
    from ipoke_core.model import IPoke

    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=16, depth=2, seq_len=4)
    good = tmp_path / "tiny.safetensors"
    save_checkpoint(good, IPoke(cfg), {"trained": False})
    w = make_window(None, factory=load_poker)
    w.load_checkpoint(str(good), "cpu")
    qtbot.waitUntil(lambda: w.poker is not None, timeout=30000)
    old = w.poker
    assert old.resolution == 32 and not old.trained and "Untrained" in w.banner.text()
    # poking with the real model
    open_array(qtbot, w, gradient_image(48, 48), tmp_path)
    w.canvas.set_pokes([Poke(24, 24, 4, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=30000)
    assert w.video.frames.shape == (4, 32, 32, 3)
    # and a heatmap with the real model
    w.set_mode("heatmap")
    w.side.heat_n.setValue(6)
    w.side.heat_batch.setValue(6)
    w.compute_heatmap(20, 30)
    qtbot.waitUntil(lambda: len(w.heatmaps.panels) == 1, timeout=30000)
    res = w.heatmaps.panels[0].result
    assert res.heatmap.shape == (32, 32) and np.isfinite(res.heatmap).all()

    w.expect_errors = True
    errors = w.errors
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00garbage" * 100)
    (tmp_path / "bad.json").write_text((tmp_path / "tiny.json").read_text())
    w.load_checkpoint(str(bad), "cpu")
    qtbot.waitUntil(lambda: bool(errors), timeout=30000)
    title, text = errors[0][:2]
    assert title == "Cannot load checkpoint" and "bad.safetensors" in text and "Still using tiny.safetensors" in text
    assert w.poker is old and w.checkpoint_path == str(good)
    assert not w.banner.text().startswith("Loading")


def test_first_start_opens_a_bundled_sample_of_the_checkpoints_kind():
    from app import resources

    assert resources.sample_for("resources/checkpoints/figures64.safetensors").name.startswith("figure_")
    assert resources.sample_for("runs/plants64/checkpoints/best.safetensors").name.startswith("plant_")
    assert resources.sample_for(None).name.startswith("plant_")  # the default model is the plants one


@pytest.mark.parametrize("side, smooth, crisp", [(8, False, True), (160, False, False), (8, True, False)])
def test_player_draws_magnified_model_pixels_crisp_like_the_canvas(qtbot, side, smooth, crisp):
    """A model frame shown magnified keeps its pixels as squares (the input canvas and exports draw
    them so; smoothing made the generated video look blurrier than the image beside it), while an
    image shown at under 2x is smoothed, and so is every frame with View ▸ Smooth video pixels."""
    from app.canvas import numpy_to_qimage
    from app.player import FrameView

    view = FrameView()
    qtbot.addWidget(view)
    view.resize(300, 200)  # a 192 px square: an 8 px checkerboard at 24x, a 160 px one at 1.2x
    checker = (np.indices((side, side)).sum(0) % 2).astype(np.uint8) * 255
    view.image = numpy_to_qimage(np.repeat(checker[..., None], 3, axis=2))
    view.smooth = smooth
    shot = view.grab().toImage()
    r = view.target_rect().toAlignedRect().adjusted(1, 1, -1, -1)
    y = r.top() + r.height() // (2 * side)  # the middle of the first row of squares
    greys = [shot.pixelColor(x, y).red() for x in range(r.left(), r.right())]
    mid = sum(1 for g in greys if 40 < g < 215)  # blended pixels between a black and a white square
    assert (mid == 0) if crisp else (mid > len(greys) // 4), (side, mid, len(greys))
