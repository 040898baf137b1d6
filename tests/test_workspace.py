"""The headless workspace (ipoke_core/session/): image and framing, pokes, video, chained steps,
heatmaps and their files, without Qt. A small fake model keeps it fast; one test runs a real tiny one."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ipoke_core.analysis.heatmap import HeatmapResult
from ipoke_core.config import ModelConfig
from ipoke_core.errors import UserError
from ipoke_core.image import Framing, load_image
from ipoke_core.inference import Video
from ipoke_core.poke import Poke
from ipoke_core.session import FRAMING, HEATMAPS, IMAGE, MODEL, PARTS, POKES, VIDEO, Workspace

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model


class Fake:
    """Poker stand-in: the video shifts the framed source along the poke, one pixel per frame."""

    def __init__(self, resolution: int = 32, seq_len: int = 3) -> None:
        self.resolution = resolution
        self.config = ModelConfig(resolution=resolution, channels=[8, 16], bottleneck=16, depth=2, seq_len=seq_len)
        self.calls: list[tuple[object, list[Poke], Framing]] = []

    def poke(self, image, pokes, framing=None, letterbox=False) -> Video:
        self.calls.append((image, list(pokes), framing))
        img = load_image(image)
        h, w = img.shape[:2]
        framing = framing or Framing.fit(w, h, self.resolution, letterbox)
        source = framing.apply(img)
        frames = np.stack([np.roll(source, k + 1, axis=1) for k in range(self.config.seq_len)])
        return Video(frames, source, [framing.poke_to_model(p) for p in pokes], framing, elapsed_ms=12.0)


def gradient(w: int = 100, h: int = 60) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], -1).astype(np.uint8)


def recorder(ws: Workspace) -> list:
    changes: list = []
    ws.subscribe(changes.append)
    return changes


def test_the_workspace_imports_no_qt():
    code = ("import sys, ipoke_core.session, ipoke_core.commands.poke, ipoke_core.commands.heatmap; "
            "assert not [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'app'))]")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_open_image_frames_it_and_clears_everything():
    ws = Workspace(Fake(32))
    changes = recorder(ws)
    ws.open_image(gradient(100, 60), "img.png")
    f = ws.framing
    assert (f.x0, f.y0, f.side, f.resolution) == (20.0, 0.0, 60.0, 32)
    assert ws.title == "img.png" and ws.step == 1 and ws.is_original and ws.source_size == (100, 60)
    assert changes[-1].what == {IMAGE, FRAMING, POKES, VIDEO, HEATMAPS, PARTS} and changes[-1].video_inputs
    ws.set_letterbox(True)
    assert (ws.framing.x0, ws.framing.y0, ws.framing.side) == (0.0, -20.0, 100.0)
    ws.open_image(gradient(40, 80), "tall.png")  # the choice holds for the next image
    assert ws.framing.side == 80.0
    # no model yet: framed for the default resolution
    assert Workspace().resolution == 64


def test_pokes_add_undo_clear_and_a_moved_square_drops_the_pokes_outside():
    ws = Workspace(Fake(32))
    ws.open_image(gradient(160, 80), "img.png")
    changes = recorder(ws)
    ws.add_poke(Poke(50, 40, 5, 0))
    ws.add_poke(Poke(100, 40, 0, 5))
    assert len(ws.pokes) == 2 and changes[-1].what == {POKES}
    assert ws.undo_poke() and ws.pokes == [Poke(50, 40, 5, 0)]
    ws.add_poke(Poke(100, 40, 0, 5))
    ws.set_framing(ws.framing.moved(60, 0))  # the square now covers x 60..140: the poke at x=50 goes
    assert ws.pokes == [Poke(100, 40, 0, 5)]
    assert changes[-1].what == {FRAMING, POKES, HEATMAPS, PARTS} and "removed" in changes[-1].note
    ws.set_framing(ws.framing.moved(50, 0))
    assert changes[-1].note == ""
    assert ws.clear_pokes() and ws.pokes == [] and not ws.clear_pokes() and not ws.undo_poke()


def test_video_requests_and_stale_results():
    fake = Fake(32)
    ws = Workspace(fake)
    ws.open_image(gradient(64, 64), "img.png")
    ws.set_pokes([Poke(30, 30, 6, 0)])
    request = ws.poke_request()
    assert request.pokes == (Poke(30, 30, 6, 0),) and request.framing == ws.framing
    video = request.run()  # in a worker, in the app
    changes = recorder(ws)
    assert ws.accept_video(request, video) and ws.video is video and ws.last_inference_ms == 12.0
    assert changes[-1].what == {VIDEO}
    # a result for an image that is no longer shown is refused
    stale = ws.poke_request()
    ws.open_image(gradient(64, 64), "other.png")
    assert not ws.accept_video(stale, stale.run()) and ws.video is None
    # no pokes: the request clears the video
    assert ws.poke_request().run() is None
    assert Workspace().poke_request() is None  # nothing to poke without a model and an image


def test_continue_from_last_frame_counts_steps_and_back_to_original():
    ws = Workspace(Fake(32), letterbox=True)
    original = gradient(100, 64)
    ws.open_image(original, "plant.png")
    with pytest.raises(UserError):
        ws.continue_from_last_frame()
    ws.set_pokes([Poke(50, 30, 6, 0)])
    ws.generate()
    last = ws.video.frames[-1].copy()
    ws.continue_from_last_frame()
    assert np.array_equal(ws.image, last) and ws.step == 2 and ws.title == "plant.png · step 2"
    # a frame is square: framed whole, whatever the letterbox choice
    assert (ws.framing.side, ws.framing.x0, ws.framing.y0) == (32.0, 0.0, 0.0)
    assert ws.video is None and ws.pokes == [] and not ws.is_original and not ws.can_letterbox
    ws.set_letterbox(False)  # not for a continued frame
    assert ws.framing.side == 32.0 and not ws.letterbox
    ws.set_pokes([Poke(16, 16, 4, 0)])
    ws.generate()
    ws.continue_from_last_frame()
    assert ws.step == 3 and ws.title == "plant.png · step 3"
    assert ws.export_stem == "plant_poked"
    assert ws.back_to_original() and ws.image is original and ws.step == 1 and ws.title == "plant.png"
    assert ws.framing.side == 64.0  # the letterbox choice of the time: off
    assert not ws.back_to_original()


def test_a_new_model_keeps_the_window_in_its_own_pixel_grid():
    ws = Workspace(Fake(32))
    ws.open_image(gradient(160, 80), "img.png")
    ws.set_framing(ws.framing.moved(10, 0))
    changes = recorder(ws)
    ws.set_poker(Fake(64))
    assert (ws.framing.x0, ws.framing.side, ws.framing.resolution) == (10.0, 80.0, 64)
    assert MODEL in changes[-1] and changes[-1].video_inputs


def _result(value: float, location=(10.0, 12.0), source=None) -> HeatmapResult:
    heat = np.full((32, 32), value, np.float32)
    return HeatmapResult(heatmap=heat, variance=heat * 2, location=location, pokes=[Poke(0, 0, 3, 4), Poke(0, 0, 6, 8)],
                         n=2, elapsed_s=0.1, source=np.zeros((32, 32, 3), np.uint8) if source is None else source)


def test_heatmap_locations_results_and_one_file_format(tmp_path):
    ws = Workspace(Fake(32))
    ws.open_image(gradient(64, 64), "img.png")
    first = ws.heatmap_request(20, 30, n=8, batch_size=4, seed=3, magnitude_range=(1.0, 4.0))
    second = ws.heatmap_request(40, 30)
    assert (first.number, second.number) == (1, 2) and ws.heat_points == [(20, 30), (40, 30)]
    assert (first.n, first.batch_size, first.seed, first.magnitude_range) == (8, 4, 3, (1.0, 4.0))
    ws.drop_heatmap(second)  # cancelled
    assert ws.heat_points == [(20, 30)]
    assert not ws.accept_heatmap(second, _result(0.5))  # its location is gone
    assert ws.accept_heatmap(first, _result(0.25)) and len(ws.heatmaps) == 1
    third = ws.heatmap_request(50, 50)
    assert ws.accept_heatmap(third, _result(0.75, (40.0, 40.0)))
    # the app's "Save .npy" and the CLI's heatmaps.npy: the same (L, R, R) stack
    stack = ws.save_heatmap_stack(tmp_path / "app.npy")
    assert np.load(stack).shape == (2, 32, 32) and np.load(stack)[1, 0, 0] == 0.75
    ws.save_heatmap_figure(tmp_path / "figure.png", columns=3)
    assert Image.open(tmp_path / "figure.png").size[0] > 3 * 32 * 4
    written = ws.save_heatmap_set(tmp_path / "set", seed=3, meta={"image": "img.png"})
    names = sorted(p.name for p in written)
    assert names == sorted(["loc1_heatmap.npy", "loc1_variance.npy", "loc1_overlay.png", "loc2_heatmap.npy",
                            "loc2_variance.npy", "loc2_overlay.png", "heatmaps.npy", "grid.png", "heatmaps.json"])
    assert np.array_equal(np.load(tmp_path / "set" / "heatmaps.npy"), np.load(stack))
    meta = json.loads((tmp_path / "set" / "heatmaps.json").read_text())
    assert meta["image"] == "img.png"
    assert [loc["at_image_px"] for loc in meta["locations"]] == [[20, 30], [50, 50]]
    assert meta["locations"][0]["magnitude_px_sampled"] == [5.0, 10.0]
    # a new square, image or clear: the heatmaps go
    stale = ws.heatmap_request(30, 30)
    ws.clear_heatmaps()
    assert ws.heat_points == [] and ws.heatmaps == [] and not ws.accept_heatmap(stale, _result(0.1))
    with pytest.raises(UserError):
        ws.save_heatmap_stack(tmp_path / "none.npy")


def test_a_file_opened_by_path_keeps_the_full_size_pixel_grid(tmp_path, monkeypatch):
    import ipoke_core.image as image

    monkeypatch.setattr(image.load_image, "__defaults__", (50,))  # the working copy is half the file's size
    Image.fromarray(gradient(100, 60)).save(tmp_path / "big.png")
    fake = Fake(32)
    ws = Workspace(fake)
    ws.open_image(tmp_path / "big.png")
    assert ws.title == "big.png" and ws.source_size == (100, 60) and ws.image.shape[:2] == (30, 50)
    ws.set_pokes([Poke(80, 30, 10, 0)])  # in the file's pixels
    ws.generate()
    assert fake.calls[-1][0] == tmp_path / "big.png"  # the model is given the file: it maps the pokes
    ws.continue_from_last_frame()
    ws.back_to_original()
    assert ws.source_size == (100, 60) and ws.poke_request().input == tmp_path / "big.png"


def test_a_real_model_pokes_exports_and_computes_a_heatmap(tmp_path):
    from ipoke_core.inference import Poker
    from ipoke_core.model import IPoke

    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=16, depth=2, seq_len=4)
    ws = Workspace(Poker(IPoke(cfg), {}, "cpu"))
    ws.open_image(gradient(48, 48), "img.png")
    ws.set_pokes([Poke(24, 24, 4, 0)])
    video = ws.generate()
    assert video.frames.shape == (4, 32, 32, 3)
    strip = ws.export(tmp_path / "strip.png", upscale=1)
    assert Image.open(strip).size[1] >= 32
    result = ws.compute_heatmap(20, 30, n=4, batch_size=4)
    assert result.heatmap.shape == (32, 32) and ws.heatmaps == [result] and ws.heat_points == [(20, 30)]
    with pytest.raises(UserError):
        ws.compute_heatmap(500, 30, n=4)  # outside the image: its location is not kept
    assert ws.heat_points == [(20, 30)]
