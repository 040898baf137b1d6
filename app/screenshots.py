"""Take the README's screenshots of the real window: ``python -m app.screenshots OUT_DIR``.

Run it on a screen large enough for the biggest size (``xvfb-run -a -s "-screen 0 1920x1080x24"
python -m app.screenshots resources/screenshots``): it opens the main window on a checkpoint and
a bundled sample, walks through the states a user sees (start, a poke playing, the Figure-5
heatmap grid, the model's parts) and grabs the window in each state at each of ``--sizes``:
``start.png``, ``poke.png``, ``heatmaps.png`` and ``parts.png`` at the first size (the window's
default), ``poke_800x600.png`` and so on at the others; ``--states`` picks some of them. The model runs in the window's own worker threads, exactly as when a
person clicks.
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
from app.main_window import DEFAULT_SIZE, MainWindow, application
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


def grab(window: MainWindow, path: Path, size: tuple[int, int]) -> None:
    """Resize ``window`` to ``size`` and save what the screen shows of it."""
    window.resize(*size)
    settle(0.6)
    if (window.width(), window.height()) != size:
        raise RuntimeError(f"the window cannot be {size[0]}×{size[1]}: it is {window.width()}×{window.height()}")
    frame = window.frameGeometry()
    shot = QApplication.primaryScreen().grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if not shot.save(str(path), "PNG", 0):  # 0: the smallest file
        raise OSError(f"could not write {path}")
    print(f"wrote {path}")


def parse_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.screenshots", description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder for the PNG screenshots")
    p.add_argument("--checkpoint", default=str(resources.default_checkpoint() or ""), help="checkpoint to load")
    p.add_argument("--image", help="image to poke (default: a bundled sample of the checkpoint's kind)")
    # on plant_1.png's crown; the heatmaps on a crown leaf, a right leaf and the stem: points the
    # bundled plants64's object mask calls movable (a point between the leaves is wall, and still)
    p.add_argument("--poke", default="0.375,0.34,6,-3",
                   help="poke as fractions of the crop and model pixels: FX,FY,DX,DY (default on a plant's crown)")
    p.add_argument("--heatmaps", default="0.375,0.34;0.594,0.578;0.453,0.766",
                   help="heatmap locations as fractions of the crop, FX,FY;FX,FY;…")
    p.add_argument("--sizes", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]},800x600",
                   help="window sizes WxH,WxH,… (the first is unsuffixed; default: the window's default and 800x600)")
    p.add_argument("--states", default="start,poke,heatmaps,parts",
                   help="which screenshots to take, of start, poke, heatmaps, parts (default: all)")
    args = p.parse_args(argv)
    states = set(args.states.split(","))
    sizes = [parse_size(s) for s in args.sizes.split(",")]

    def shoot(window: MainWindow, name: str) -> None:
        if name not in states:
            return
        for i, size in enumerate(sizes):
            grab(window, args.out / (f"{name}.png" if i == 0 else f"{name}_{size[0]}x{size[1]}.png"), size)
        window.resize(*sizes[0])

    if not args.checkpoint:
        p.error("no checkpoint: pass --checkpoint (none is bundled yet)")
    args.out.mkdir(parents=True, exist_ok=True)

    application()
    with tempfile.TemporaryDirectory() as tmp:  # a fresh settings file: no state from earlier runs
        settings = AppSettings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings)
        window.resize(*sizes[0])
        window.move(0, 0)
        window.show()
        window.load_checkpoint(args.checkpoint)
        window.open_image(args.image or str(resources.sample_for(args.checkpoint)))
        wait_until(lambda: window.poker is not None and window.framing is not None)
        shoot(window, "start")

        fr = window.framing
        fx, fy, dx, dy = (float(v) for v in args.poke.split(","))
        r = window.poker.resolution
        x, y = fr.to_source(fx * r, fy * r)
        tx, ty = fr.to_source(fx * r + dx, fy * r + dy)
        if states & {"poke", "heatmaps"}:
            window.canvas.set_pokes([Poke(x, y, tx - x, ty - y)])
            wait_until(lambda: window.video is not None)
            window.player.pause()
            window.player.slider.setValue(window.player.slider.maximum())  # the last frame: where the poke led
            shoot(window, "poke")

        if "heatmaps" in states:
            window.set_mode("heatmap")
            for n, pair in enumerate(args.heatmaps.split(";"), start=1):
                hx, hy = (float(v) * r for v in pair.split(","))
                window.compute_heatmap(*fr.to_source(hx, hy))
                wait_until(lambda n=n: len(window.heatmaps.panels) >= n, timeout_s=600)
            shoot(window, "heatmaps")

        if "parts" in states:
            window.compute_parts()
            wait_until(lambda: window.workspace.parts is not None, timeout_s=1800)
            settle(0.5)
            shoot(window, "parts")
        window.shutdown()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
