"""A whole session driven headless, without Qt (ipoke_core/session/): the app's flow with the real
bundled checkpoint and a real mp4 — load the model, open an image, poke, heatmap, export, undo —
through the same requests and change events the window runs in its worker lanes."""
from __future__ import annotations

import imageio_ffmpeg
import pytest

from ipoke_core.errors import UserError
from ipoke_core.paths import CHECKPOINTS, SAMPLES
from ipoke_core.poke import Poke
from ipoke_core.session import (
    HEATMAP_SETTINGS, HEATMAPS, IMAGE, MODE, MODEL, PLAYBACK, POKES, SLOT, VIDEO, HeatmapSettings, ModelSlot, Workspace,
)

from test_workspace import recorder

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model

PLANTS = CHECKPOINTS / "plants64.safetensors"


def test_the_controls_are_session_state_with_change_events():
    ws = Workspace()
    changes = recorder(ws)
    assert ws.mode == "poke" and ws.slot == ModelSlot() and ws.heatmap_settings == HeatmapSettings() and ws.fps is None
    ws.set_mode("heatmap")
    ws.set_mode("heatmap")  # no change, no event
    ws.set_heatmap_settings(n=16, seed=3)
    ws.set_fps(12.5)
    ws.set_device("cpu")
    assert [c.what for c in changes] == [{MODE}, {HEATMAP_SETTINGS}, {PLAYBACK}, {SLOT}]
    assert ws.heatmap_settings == HeatmapSettings(n=16, seed=3) and ws.slot.device == "cpu"
    with pytest.raises(ValueError):
        ws.set_mode("draw")
    with pytest.raises(ValueError):
        ws.set_fps(0)


def test_a_failed_load_keeps_the_slot_and_says_it_is_no_longer_loading(tmp_path):
    ws = Workspace()
    changes = recorder(ws)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError):
        ws.load_model(bad, "cpu")
    assert ws.poker is None and ws.slot == ModelSlot(path="", device="cpu", loading=False)
    assert [c.what for c in changes] == [{SLOT}, {SLOT}]  # loading, then not


def test_a_session_loads_pokes_computes_a_heatmap_exports_an_mp4_and_undoes(tmp_path):
    ws = Workspace()
    changes = recorder(ws)
    # load: a request run "in the worker", then handed back
    request = ws.load_model_request(str(PLANTS), "cpu")
    assert ws.slot.loading and changes[-1].what == {SLOT}
    ws.accept_model(request, request.run())
    assert ws.poker is not None and ws.slot == ModelSlot(str(PLANTS), "cpu", False)
    assert {MODEL, SLOT, HEATMAP_SETTINGS} <= changes[-1].what
    # heatmap pokes take the lengths the model saw in training
    assert ws.heatmap_settings.magnitude_range == ws.poker.magnitude_range()

    ws.open_image(SAMPLES / "plant_1.png")
    assert IMAGE in changes[-1] and ws.opened_path == str(SAMPLES / "plant_1.png")
    f = ws.framing
    r = ws.poker.resolution
    x, y = f.to_source(0.35 * r, 0.4 * r)  # a leaf of plant_1
    tx, ty = f.to_source(0.35 * r + 6, 0.4 * r - 3)
    ws.add_poke(Poke(x, y, tx - x, ty - y))
    assert changes[-1].what == {POKES} and changes[-1].video_inputs
    # poke: the request is a snapshot; its result is accepted while the image is the same
    poke = ws.poke_request()
    video = poke.run()
    assert ws.accept_video(poke, video) and changes[-1].what == {VIDEO}
    assert video.frames.shape == (ws.poker.config.seq_len, r, r, 3) and not video.is_still

    # heatmap: the settings fill what the request does not say
    ws.set_mode("heatmap")
    ws.set_heatmap_settings(n=4, batch_size=4, seed=1)
    heat = ws.heatmap_request(x, y)
    assert (heat.n, heat.batch_size, heat.seed, heat.number) == (4, 4, 1, 1)
    assert heat.magnitude_range == ws.poker.magnitude_range() and ws.heat_points == [(x, y)]
    assert ws.accept_heatmap(heat, heat.run()) and changes[-1].what == {HEATMAPS}
    assert ws.heatmaps[0].heatmap.shape == (r, r)

    # export: a real mp4 at the session's playback speed
    ws.set_fps(10.0)
    export = ws.export_request(tmp_path / "plant.mp4", upscale=1)
    assert export.fps == 10.0
    path = export.run()
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert meta["fps"] == 10.0 and len(list(reader)) == video.n_frames + 1  # frame 0 is the input

    # undo: the poke goes, the video is out of date, and its request clears it
    assert ws.undo_poke() and ws.pokes == [] and changes[-1].video_inputs
    cleared = ws.poke_request()
    assert ws.accept_video(cleared, cleared.run()) and ws.video is None
    assert not ws.undo_poke()
    with pytest.raises(UserError):
        ws.export_request(tmp_path / "again.mp4")
