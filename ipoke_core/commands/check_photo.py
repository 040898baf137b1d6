"""``ipoke check-photo``: poke a real photo and measure what moved (``ipoke_core.photo_check``).

    ipoke check-photo --image flower.jpg --poke 0.50,0.35,5,-2 --poke 0.60,0.80,-4,0 \\
        --background 0.10,0.10 --out photo.png

Poke locations are fractions of the square the model sees (x, y in [0, 1]); displacements are model
pixels, like ``python -m app.screenshots --poke``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import add_checkpoint_argument, add_image_argument, int_in, load_poker, positive_float

HELP = ("poke a real photo and measure what moved: where the poked point ends, how much the rest of the picture "
        "changes, and what a poke on the background does (a PNG figure, one row per poke)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_argument(p)
    add_image_argument(p, "the photo")
    p.add_argument("--poke", action="append", required=True, metavar="X,Y,DX,DY",
                   help="x, y as fractions of the model's square (0 to 1), dx, dy in model pixels; repeatable")
    p.add_argument("--background", metavar="X,Y",
                   help="x, y (fractions): a poke there, of the first poke's size, should change nothing")
    p.add_argument("--far", type=positive_float, default=16.0,
                   help="model px: 'the rest of the picture' is farther than this from the poke (default 16)")
    # bounded: each poke's heatmap generates N videos
    p.add_argument("--heatmap-n", type=int_in(2, 1024), default=64, help="random pokes of each heatmap (default 64)")
    p.add_argument("--letterbox", action="store_true", help="pad the whole photo to a square instead of center-cropping")
    p.add_argument("--out", "-o", required=True, type=Path, help="the figure (.png)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace) -> int:
    from ipoke_core.errors import UserError
    from ipoke_core.image import write_png
    from ipoke_core.io_utils import ensure_writable_dir
    from ipoke_core.outputs import check_outputs
    from ipoke_core.paths import checkpoint_paths
    from ipoke_core.photo_check import check_photo, parse_fractions
    from ipoke_core.poke import Poke

    if args.out.suffix.lower() != ".png":
        raise UserError(f"--out {args.out}: the figure is a PNG; give a name ending in .png")
    pokes = [parse_fractions(text, 4, "--poke") for text in args.poke]
    background = parse_fractions(args.background, 2, "--background") if args.background else None
    check_outputs([args.out], inputs=[args.image, *checkpoint_paths(args.checkpoint)], overwrite=args.overwrite)
    ensure_writable_dir(args.out.parent)  # before the model runs, not after
    poker = load_poker(args)
    r = poker.resolution
    model_pokes = [Poke(fx * (r - 1), fy * (r - 1), dx, dy) for fx, fy, dx, dy in pokes]
    for poke, text in zip(model_pokes, args.poke):
        try:
            poke.validate(r, r)
        except UserError as e:
            raise UserError(f"--poke {text}: {e}") from None
    where = None if background is None else (background[0] * (r - 1), background[1] * (r - 1))

    result = check_photo(poker, args.image, model_pokes, where, far=args.far, heatmap_n=args.heatmap_n,
                         letterbox=args.letterbox)
    print(f"{args.image.name} on {Path(args.checkpoint).name} ({r} px model square)")
    for m in result.pokes:
        p = m.poke
        print(f"  poke at ({p.x:.1f}, {p.y:.1f}) by ({p.dx:+.1f}, {p.dy:+.1f}) px: the poked point ends "
              f"{m.error_px:.2f} px from its target (a still video: {p.magnitude:.2f} px); mean change farther than "
              f"{args.far:g} px from the poke {m.far_change:.2f} grey levels, within it {m.near_change:.2f}; "
              f"heatmap mean {m.heatmap_mean:.2f}")
    if result.background is not None:
        b = result.background
        moved = "" if b.mean_motion_px is None else \
            f"; the model's own motion averages {b.mean_motion_px:.2f} px over the image"
        print(f"  background poke at ({b.poke.x:.1f}, {b.poke.y:.1f}): mean change {b.mean_change:.2f} "
              f"grey levels over the image{moved}")
    write_png(result.figure, args.out)
    print(f"wrote {args.out}")
    return 0
