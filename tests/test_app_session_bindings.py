"""The window is a view of the session: the mode, the model slot, the heatmap settings and the
playback speed live in the workspace (``ipoke_core.session``); the widgets show its change events
and write what the user sets back, and the jobs read the workspace, not the widgets."""
from __future__ import annotations

import pytest

from ipoke_core.poke import Poke
from test_app_fakes import FakePoker, gradient_image, make_window, settings  # noqa: F401 - fixtures


def test_the_model_slot_and_its_heatmap_lengths_are_the_sessions(qtbot, make_window):
    w = make_window(FakePoker())
    ws = w.workspace
    assert ws.slot.path == "fake.safetensors" and not ws.slot.loading and w.checkpoint_path == ws.slot.path
    assert w.side.checkpoint_label.text() == "fake.safetensors"
    # the lengths the model saw in training reach the session's heatmap settings and their spin boxes
    assert ws.heatmap_settings.magnitude_range == (1.0, 4.0)
    assert (w.side.heat_lo.value(), w.side.heat_hi.value()) == (1.0, 4.0)


def test_the_mode_lives_in_the_session_and_the_widgets_follow_it(qtbot, make_window):
    w = make_window(FakePoker())
    ws = w.workspace
    ws.set_mode("heatmap")
    assert w.canvas.mode == "heatmap" and w.side.mode_heatmap.isChecked() and w.tabs.currentWidget() is w.heatmaps
    w.side.mode_poke.setChecked(True)  # the user's click goes to the session
    assert ws.mode == "poke" and w.canvas.mode == "poke" and w.tabs.currentWidget() is w.player
    w.tabs.setCurrentWidget(w.parts_view)  # the parts tab is heatmap mode: a click on a part is a heatmap
    assert ws.mode == "heatmap"


def test_heatmap_settings_and_fps_go_both_ways_and_the_jobs_read_the_session(qtbot, make_window, tmp_path,
                                                                               monkeypatch):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from app.export_dialog import ExportRequest
    from ipoke_core.analysis import heatmap

    # the production generate decodes last frames with the real network; the fake has none
    monkeypatch.setattr(heatmap, "poker_generate_fn", lambda poker, source, batch_size=16: (
        lambda pokes: poker.generate(source, [[p] for p in pokes], batch_size)))

    w = make_window(FakePoker(resolution=32))
    ws, side = w.workspace, w.side
    side.heat_n.setValue(8)
    side.heat_seed.setValue(7)
    assert (ws.heatmap_settings.n, ws.heatmap_settings.seed) == (8, 7)
    ws.set_heatmap_settings(batch_size=4)
    assert side.heat_batch.value() == 4
    w.player.fps.setValue(12.0)
    assert ws.fps == 12.0
    ws.set_fps(5.0)
    assert w.player.fps.value() == 5.0

    w.set_image(gradient_image(64, 64), "img.png")
    job = w.compute_heatmap(30, 30)
    assert (job.payload.n, job.payload.batch_size, job.payload.seed) == (8, 4, 7)
    qtbot.waitUntil(lambda: len(w.heatmaps.panels) == 1, timeout=30000)
    assert w.heatmaps.panels[0].result.n == 8

    w.canvas.set_pokes([Poke(30, 30, 6, 0)])
    qtbot.waitUntil(lambda: w.video is not None, timeout=10000)
    out = tmp_path / "v.mp4"
    w.export(ExportRequest("mp4", out, upscale=1, overlay=False))
    qtbot.waitUntil(lambda: not w.io_lane.is_busy() and out.exists(), timeout=30000)
    assert next(imageio_ffmpeg.read_frames(str(out)))["fps"] == 5.0  # the session's playback speed
