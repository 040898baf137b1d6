"""Start the iPoke desktop app: ``python -m app.main`` (``make run``) or ``ipoke-gui``."""
from __future__ import annotations

import argparse
import os
import sys

from app.main_window import MainWindow, application

EXPORT_WAIT_MS = 30_000  # at most this long for an export in progress at quit
MODEL_WAIT_MS = 200  # a model job that ends this soon ends normally; a longer one is abandoned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ipoke-gui", description="Poke a still image and watch the object move.")
    parser.add_argument("image", nargs="?", help="image to open (default: the last one, or a bundled sample)")
    parser.add_argument("--checkpoint", help="checkpoint to load (default: the last one, or the bundled one)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the model runs")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    app = application()
    window = MainWindow()
    if args.device:
        window.checkpoints.select_device(args.device)
    window.show()
    if args.checkpoint:
        window.load_checkpoint(args.checkpoint)
    if args.image:
        window.open_image(args.image)
    if not args.checkpoint or not args.image:
        window.start(checkpoint=not args.checkpoint, image=not args.image)
    code = app.exec()
    window.stop_workers()  # closeEvent did this already, unless the app quit another way
    # an export that is being written is finished (the user asked for that file); a model load or a
    # forward pass cannot be interrupted and nobody waits for its result, so the process does not
    # wait for it either: the settings are saved, leave at once
    if not (window.io_lane.wait(EXPORT_WAIT_MS) and window.model_lane.wait(MODEL_WAIT_MS)):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
