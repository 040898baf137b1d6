"""Helpers for the app tests: a fake Poker with a configurable delay, and a window fixture.

The fake follows ``ipoke_core.inference.Poker``'s interface and uses the real ``Framing`` and
``Video``, so the pixel mapping under test is the production one; only the network is replaced
by a shift of the source (the whole crop moves along the poke), so results are easy to check.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from ipoke_core.config import ModelConfig
from ipoke_core.image import Framing, load_image
from ipoke_core.inference import Video
from ipoke_core.poke import Poke


class FakePoker:
    """Poker stand-in: ``poke`` shifts the source along the poke; ``delay`` seconds per call, or, with
    ``gate``, until the test sets that event (a model "running" for exactly as long as the test needs,
    whatever the machine's speed)."""

    def __init__(self, resolution: int = 32, seq_len: int = 4, delay: float = 0.0, trained: bool = True,
                 still: bool = False, gate: threading.Event | None = None) -> None:
        self.resolution = resolution
        self.config = ModelConfig(resolution=resolution, channels=[8, 16], bottleneck=16, depth=2, seq_len=seq_len)
        self.device = "cpu"
        self.meta = {"trained": trained, "data_stats": {"poke_magnitude_px": [1.0, 4.0]}}
        self.trained = trained
        self.delay = delay
        self.gate = gate
        self.finished_calls = 0
        self.still = still
        self.calls: list[tuple[list[Poke], Framing]] = []
        self.threads: set[str] = set()
        self.generate_calls = 0
        # no dense motion output of its own: heatmaps measure the motion of its frames
        self.predicts_motion = False
        self.has_part_masks = False  # parts come from clustering its motion, not from masks of its own

    def magnitude_range(self) -> tuple[float, float]:
        return tuple(self.meta["data_stats"]["poke_magnitude_px"])

    def prepare(self, image, framing=None, letterbox=False):
        img = load_image(image)
        h, w = img.shape[:2]
        framing = framing or (Framing.letterbox if letterbox else Framing.center_crop)(w, h, self.resolution)
        return framing.apply(img), framing

    def generate(self, source, pokes_per_video, batch_size=32, progress=None, cancel=None):
        self.threads.add(threading.current_thread().name)
        self.generate_calls += 1
        time.sleep(self.delay)
        if self.gate is not None:
            self.gate.wait(60)
        t = self.config.seq_len
        out = np.empty((len(pokes_per_video), t, *source.shape), np.uint8)
        for i, pokes in enumerate(pokes_per_video):
            dx = sum(p.dx for p in pokes)
            dy = sum(p.dy for p in pokes)
            for k in range(t):
                f = 0.0 if self.still else (k + 1) / t
                out[i, k] = np.roll(source, (round(dy * f), round(dx * f)), axis=(0, 1))
        self.finished_calls += 1
        return out

    def poke(self, image, pokes, framing=None, letterbox=False) -> Video:
        pokes = [pokes] if isinstance(pokes, Poke) else list(pokes)
        self.calls.append((pokes, framing))
        source, framing = self.prepare(image, framing, letterbox)
        model_pokes = [framing.poke_to_model(p) for p in pokes]
        t0 = time.perf_counter()
        frames = self.generate(source, [model_pokes])[0]
        return Video(frames, source, model_pokes, framing, elapsed_ms=(time.perf_counter() - t0) * 1000)


def gradient_image(w: int = 120, h: int = 80) -> np.ndarray:
    """A non-square test image whose pixels encode their position."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], -1).astype(np.uint8)


@pytest.fixture
def settings(tmp_path):
    from app.settings import AppSettings

    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def make_window(qtbot, settings):
    """``make_window(poker=FakePoker())``: a shown MainWindow with that model loaded."""
    from app.main_window import MainWindow

    windows = []

    def make(poker=None, factory=None, **kwargs):
        fake = poker
        w = MainWindow(settings=kwargs.pop("settings", settings),
                       poker_factory=factory or (lambda path, device: fake), devices=["auto", "cpu"])
        qtbot.addWidget(w)
        # error dialogs are modal: record them instead (a test that expects one reads w.errors)
        w.errors = []
        w.show_error = lambda title, text, details=None: w.errors.append((title, text, details))
        w.resize(1200, 760)
        w.show()
        qtbot.waitExposed(w)
        windows.append(w)
        if fake is not None:
            w.load_checkpoint("fake.safetensors")
            qtbot.waitUntil(lambda: w.poker is fake, timeout=5000)
        return w

    yield make
    for w in windows:
        w.shutdown()
    unexpected = [e for w in windows for e in w.errors if not getattr(w, "expect_errors", False)]
    assert not unexpected, f"unexpected error dialogs: {unexpected}"


class PartsFakePoker(FakePoker):
    """A motion-first fake with two rigid parts: in the model's square, the blocks left and right of the
    middle (rows R/4 .. 3R/4) each move exactly with a poke on them; everything else stays still."""

    def __init__(self, resolution: int = 32, **kwargs) -> None:
        super().__init__(resolution=resolution, **kwargs)
        self.predicts_motion = True
        r = resolution
        self.truth = np.full((r, r), -1, np.int64)
        self.truth[r // 4:3 * r // 4, r // 8:r // 2] = 0
        self.truth[r // 4:3 * r // 4, r // 2:7 * r // 8] = 1
        self.motion_calls = 0

    def last_motion(self, source, pokes, batch_size=16):
        self.threads.add(threading.current_thread().name)
        self.motion_calls += 1
        time.sleep(self.delay)
        if self.gate is not None:
            self.gate.wait(60)
        out = np.zeros((len(pokes), *self.truth.shape, 2), np.float32)
        for i, p in enumerate(pokes):
            part = self.truth[min(max(round(p.y), 0), self.resolution - 1), min(max(round(p.x), 0), self.resolution - 1)]
            if part >= 0:
                out[i][self.truth == part] = (p.dx, p.dy)
        return out
