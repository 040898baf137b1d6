"""``ipoke heatmap``: Figure-5 correlation heatmaps of an image at one or more poke locations."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import (
    add_checkpoint_argument, add_image_argument, finite_float, int_in, load_poker, positive_int, seed_int,
)

# the grid PNG holds the source and one overlay per location in a row: refuse one past 100 megapixels
MAX_GRID_PIXELS = 100_000_000

# the shortest poke length (model pixels) a heatmap may ask for: below it the response is rounding noise
MIN_POKE_PX = 0.05

HELP = "correlation heatmaps (paper Fig. 5): which pixels move with a poke at --at X,Y (.npy + PNG overlays + grid)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ipoke_core.analysis.heatmap import DEFAULT_BATCH

    add_checkpoint_argument(p)
    add_image_argument(p)
    p.add_argument("--at", action="append", required=True, metavar="X,Y",
                   help="poke location in image pixels; repeat for several locations (one map each)")
    p.add_argument("--n", type=positive_int, default=64, help="random pokes per location (default 64, at least 2)")
    p.add_argument("--magnitude", metavar="LO,HI", default=None,
                   help="poke lengths in MODEL pixels, uniform in [LO, HI] (default: the checkpoint's training range)")
    p.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH,
                   help=f"videos per forward pass (default {DEFAULT_BATCH})")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the random pokes (default 0)")
    p.add_argument("--colormap", default="inferno", help="inferno, viridis, magma, plasma, turbo, jet, hot, cividis, gray")
    p.add_argument("--alpha", type=finite_float, default=0.6, help="opacity of the colormap over the image (default 0.6)")
    # bounded like poke's: the grid is one PNG of all locations, and 1000x ate 15 GB before the kernel stepped in
    p.add_argument("--upscale", type=int_in(1, 16), default=4, help="upscaling of the PNGs, 1 to 16 (default 4)")
    p.add_argument("--letterbox", action="store_true", help="pad the whole image to a square instead of center-cropping")
    p.add_argument("--out", "-o", type=Path, default=Path("heatmaps"), help="output folder (default ./heatmaps)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the heatmap files of an earlier run in --out (and remove its extra locations' files)")


def _pair(text: str, what: str) -> tuple[float, float]:
    from ipoke_core.errors import UserError

    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"cannot read {what} {text!r}: expected two numbers like 30,40") from None
    return a, b


def run(args: argparse.Namespace) -> int:
    import math

    from tqdm import tqdm

    from ipoke_core.analysis.heatmap import HeatmapError, check_heatmap_size
    from ipoke_core.analysis.render import COLORMAPS
    from ipoke_core.inference import to_working
    from ipoke_core.io_utils import ensure_writable_dir
    from ipoke_core.outputs import check_outputs
    from ipoke_core.paths import checkpoint_paths
    from ipoke_core.session import Workspace, heatmap_set_output

    locations = [_pair(a, "--at") for a in args.at]
    magnitude = _pair(args.magnitude, "--magnitude") if args.magnitude else None
    if args.n < 2:
        raise HeatmapError(f"--n must be at least 2 to measure a variance, got {args.n}")
    if not 0.0 <= args.alpha <= 1.0:  # the PNGs are drawn last: refuse before minutes of pokes, not after
        raise HeatmapError(f"--alpha must be in [0, 1], got {args.alpha:g}")
    if args.colormap not in COLORMAPS:
        raise HeatmapError(f"unknown --colormap {args.colormap!r}; choose one of {', '.join(COLORMAPS)}")
    ws = Workspace(letterbox=args.letterbox)
    # at most MAX_WORKING_SIDE: --at stays in the full-size image's pixels (ws.source_size)
    ws.open_image(args.image)
    width, height = ws.source_size
    poker = load_poker(args)
    ws.set_poker(poker)
    r = poker.resolution
    # shorter pokes than the model draws (its motion dead zone, else 0.05 px) give a map of rounding noise
    shortest = max(MIN_POKE_PX, poker.config.motion_deadzone_px)
    if magnitude is not None and magnitude[0] < shortest:
        raise HeatmapError(f"--magnitude {args.magnitude}: the shortest poke this model draws is {shortest:g} model "
                           f"pixels; give LO of at least {shortest:g}")
    if magnitude is not None and magnitude[1] > math.hypot(r, r):  # like poke --by: longer is colour noise
        raise HeatmapError(f"--magnitude {args.magnitude}: poke lengths are in model pixels and must stay within "
                           f"the {r}x{r} square the model sees (at most {math.hypot(r, r):.0f})")
    check_heatmap_size(args.n, r, r)  # before the output folder is made: --n 100000000 reserved terabytes
    side = r * args.upscale
    if (len(locations) + 1) * side * side > MAX_GRID_PIXELS:
        raise HeatmapError(f"the grid of {len(locations)} location(s) at --upscale {args.upscale} would be "
                           f"{(len(locations) + 1) * side * side / 1e6:.0f} megapixels (limit "
                           f"{MAX_GRID_PIXELS / 1e6:.0f}); use a smaller --upscale or fewer --at")
    for x, y in locations:  # refuse a bad location before spending minutes on the good ones
        inside = math.isfinite(x) and math.isfinite(y) and 0 <= x <= width - 1 and 0 <= y <= height - 1
        if not inside or not ws.framing.contains(*to_working(ws.framing, (width, height), x, y)):
            raise HeatmapError(f"--at {x:g},{y:g} is outside the {width}x{height} image "
                               "or the square the model sees (try --letterbox)")
    # before the work: the set's files must not be the image or the checkpoint, nor replace files without --overwrite
    output = heatmap_set_output(args.out, len(locations))
    check_outputs([output], inputs=[args.image, *checkpoint_paths(args.checkpoint)], overwrite=args.overwrite)
    ensure_writable_dir(args.out)  # after every check: a refused command leaves no empty folder behind

    for i, (x, y) in enumerate(locations, 1):
        with tqdm(total=args.n, desc=f"heatmap {i}/{len(locations)} at ({x:g}, {y:g})", unit="poke") as bar:
            def progress(done: int, total: int, message: str, bar=bar) -> None:
                bar.update(done - bar.n)

            res = ws.compute_heatmap(x, y, n=args.n, batch_size=args.batch_size, seed=args.seed,
                                     magnitude_range=magnitude, progress=progress)
        moves = (f"the point follows {res.point_follows:.0%} of the pokes" if res.point_moves
                 else "this point does not move under the pokes (its map shows nothing)")
        print(f"location {i} ({x:g}, {y:g}) -> model ({res.location[0]:.1f}, {res.location[1]:.1f}): "
              f"{res.elapsed_s:.1f} s, mean correlation {res.heatmap.mean():.3f}, {moves}")
    # the same files as the app's Save buttons (heatmaps.npy, grid.png), and one set per location
    meta = {"checkpoint": str(args.checkpoint), "image": str(args.image), "resolution": poker.resolution,
            "trained": poker.trained}
    ws.save_heatmap_set(args.out, args.alpha, args.colormap, args.upscale, seed=args.seed, meta=meta)
    output.remove_stale()  # an earlier run's files for locations this run does not have
    print(f"wrote {len(ws.heatmaps)} heatmap(s) (loc*_heatmap.npy, loc*_variance.npy, loc*_overlay.png), "
          f"heatmaps.npy, grid.png and heatmaps.json to {args.out}")
    return 0
