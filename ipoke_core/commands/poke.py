"""``ipoke poke``: generate the video for one or several pokes of an image."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import add_checkpoint_argument, add_image_argument, float_in, int_in, load_poker

# GIF frame times are in 10 ms ticks and viewers hold a frame at least 20 ms: faster GIFs play at 50 fps
MAX_GIF_FPS = 50

HELP = "poke an image and write the generated video (mp4, gif, png strip or a folder of frames)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_argument(p)
    add_image_argument(p)
    p.add_argument("--at", action="append", required=True, metavar="X,Y",
                   help="poke location in image pixels; repeat --at/--by for several simultaneous pokes")
    p.add_argument("--by", action="append", required=True, metavar="DX,DY", help="displacement in image pixels")
    p.add_argument("--out", "-o", required=True, type=Path, help="output: .mp4, .gif, .png (frame strip) or a folder")
    p.add_argument("--gif", action="store_true", help="also write a GIF next to --out")
    p.add_argument("--frames", action="store_true", help="also write a folder of PNG frames next to --out")
    p.add_argument("--strip", action="store_true", help="also write a paper-style frame strip PNG next to --out")
    p.add_argument("--upscale", type=int_in(1, 16), default=4,
                   help="the video is at least R x UPSCALE pixels (default 4); model-size videos repeat each pixel")
    p.add_argument("--model-size", action="store_true",
                   help="keep the model's own R px frames (magnified by --upscale) instead of drawing the video "
                        "at the photo's resolution")
    p.add_argument("--no-overlay", action="store_true", help="do not draw the poke arrow and target dot")
    p.add_argument("--letterbox", action="store_true", help="pad the whole image to a square instead of center-cropping")
    # tiny rates overflow the writers (a GIF frame lasts at most 655 s); 0.1 to 1000 covers every real use
    p.add_argument("--fps", type=float_in(0.1, 1000), default=10.0, help="frames per second, 0.1 to 1000 (default 10)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")


def run(args: argparse.Namespace) -> int:
    from ipoke_core.errors import UserError
    from ipoke_core.export import export_output
    from ipoke_core.outputs import check_outputs
    from ipoke_core.paths import checkpoint_paths
    from ipoke_core.poke import Poke
    from ipoke_core.session import Workspace

    if len(args.at) != len(args.by):
        raise UserError(f"give one --by for every --at ({len(args.at)} --at, {len(args.by)} --by)")
    pokes = [Poke.parse(a, b) for a, b in zip(args.at, args.by)]
    # where two pokes' squares overlap the later one wins: at one point the earlier poke would vanish unsaid
    points = [(p.x, p.y) for p in pokes]
    twice = next((q for i, q in enumerate(points) if q in points[:i]), None)
    if twice is not None:
        raise UserError(f"--at {twice[0]:g},{twice[1]:g} is given twice: two pokes at one point cannot both "
                        "apply (the later would replace the earlier); give each poke its own point")
    stem = args.out.with_suffix("") if args.out.suffix else args.out
    targets = [args.out]
    if args.gif:
        targets.append(stem.with_name(stem.name + ".gif"))
    if args.frames:
        targets.append(stem.with_name(stem.name + "_frames"))
    if args.strip:
        targets.append(stem.with_name(stem.name + "_strip.png"))
    gifs = [t for t in targets if t.suffix.lower() == ".gif"]
    if gifs and args.fps > MAX_GIF_FPS:
        raise UserError(f"--fps {args.fps:g}: a GIF ({gifs[0]}) plays at most {MAX_GIF_FPS} frames per second "
                        "(viewers hold a frame at least 20 ms); use --fps 50 or less, or write an .mp4")
    # before the model runs: no output (nor a frame inside a frames folder) may be the input or, without
    # --overwrite, anything that exists
    check_outputs([export_output(t) for t in targets], inputs=[args.image, *checkpoint_paths(args.checkpoint)], overwrite=args.overwrite)
    poker = load_poker(args)
    ws = Workspace(poker, letterbox=args.letterbox)
    ws.open_image(args.image)
    ws.set_pokes(pokes)
    video = ws.generate()
    full = not args.model_size
    outputs = [ws.export(t, args.upscale, overlay=not args.no_overlay, fps=args.fps, full_resolution=full)
               for t in targets]
    still = "still (the model treats this poke as background): " if video.is_still else ""
    drawn = video.full_resolution if full else None
    size = f"drawn at the photo's resolution, {drawn[0].shape[0]} px; " if drawn is not None else ""
    print(f"{video.n_frames} frames at {poker.resolution}x{poker.resolution} in {video.elapsed_ms:.0f} ms "
          f"on {poker.device}; {size}{still}{video.movement()}")
    for o in outputs:
        print(f"wrote {o}")
    return 0

