"""Take the README's screenshots of the real window: ``python -m app.screenshots OUT_DIR``.

Run it on a screen (``xvfb-run -a python -m app.screenshots resources/screenshots``): it opens
the main window on a checkpoint and a bundled sample, walks through the states a user sees
(start, a poke playing, the Figure-5 heatmap grid) and grabs the whole screen after each one.
The model runs in the window's own worker threads, exactly as when a person clicks.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app import resources
from app.main_window import MainWindow, application
from app.settings import AppSettings
from ipoke_core.poke import Poke


def wait_until(condition, timeout_s: float = 120.0) -> None:
    """Process Qt events until ``condition()`` is true (raises ``TimeoutError`` after ``timeout_s``)."""
    app = QApplication.instance()
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not reach the expected state in time")
        app.processEvents()
        time.sleep(0.01)


def settle(seconds: float) -> None:
    """Process Qt events for ``seconds`` (lets layouts and repaints finish)."""
    end = time.monotonic() + seconds
    wait_until(lambda: time.monotonic() >= end, seconds + 1.0)


def grab(path: Path) -> None:
    settle(0.3)
    if not QApplication.primaryScreen().grabWindow(0).save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.screenshots", description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder for the PNG screenshots")
    p.add_argument("--checkpoint", default=str(resources.default_checkpoint() or ""), help="checkpoint to load")
    p.add_argument("--image", help="image to poke (default: a bundled sample of the checkpoint's kind)")
    p.add_argument("--poke", default="0.5,0.3,6,-3",
                   help="poke as fractions of the crop and model pixels: FX,FY,DX,DY (default on a plant's crown)")
    p.add_argument("--heatmaps", default="0.5,0.3;0.5,0.6;0.45,0.85",
                   help="heatmap locations as fractions of the crop, FX,FY;FX,FY;…")
    args = p.parse_args(argv)
    if not args.checkpoint:
        p.error("no checkpoint: pass --checkpoint (none is bundled yet)")
    args.out.mkdir(parents=True, exist_ok=True)

    application()
    with tempfile.TemporaryDirectory() as tmp:  # a fresh settings file: no state from earlier runs
        settings = AppSettings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings)
        window.resize(1400, 860)
        window.move(0, 0)
        window.show()
        window.load_checkpoint(args.checkpoint)
        window.open_image(args.image or str(resources.sample_for(args.checkpoint)))
        wait_until(lambda: window.poker is not None and window.framing is not None)
        grab(args.out / "start.png")

        fr = window.framing
        fx, fy, dx, dy = (float(v) for v in args.poke.split(","))
        r = window.poker.resolution
        x, y = fr.to_source(fx * r, fy * r)
        tx, ty = fr.to_source(fx * r + dx, fy * r + dy)
        window.canvas.set_pokes([Poke(x, y, tx - x, ty - y)])
        wait_until(lambda: window.video is not None)
        window.player.pause()
        window.player.slider.setValue(window.player.slider.maximum())  # the last frame: where the poke led
        grab(args.out / "poke.png")

        window.set_mode("heatmap")
        for n, pair in enumerate(args.heatmaps.split(";"), start=1):
            hx, hy = (float(v) * r for v in pair.split(","))
            window.compute_heatmap(*fr.to_source(hx, hy))
            wait_until(lambda n=n: len(window.heatmaps.panels) >= n, timeout_s=600)
        grab(args.out / "heatmaps.png")
        window.shutdown()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
