"""``ipoke parts``: the model's own moving parts of an image (PNG + label array), or their score on a synthetic set."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import (
    add_checkpoint_argument, add_image_argument,
    float_in,
    int_in,
    load_poker,
    positive_int,
    seed_int,
)

HELP = ("the object's moving parts as the model moves them (a grid of pokes, pixels that move together): "
        "coloured PNG and/or label .npy; --score DATA rates them against a synthetic set's true parts")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_argument(p)
    add_image_argument(p, required=False)
    p.add_argument("--out", "-o", type=Path, help="coloured parts over the image (PNG)")
    p.add_argument("--npy", type=Path,
                   help="label array (H, W) int64 in the image's pixels (-1 = still or outside the model's square)")
    p.add_argument("--grid", type=int_in(2, 64), default=8, help="model px between poked points (default 8)")
    p.add_argument("--directions", type=int_in(2, 16), default=4, help="pokes per grid point (default 4)")
    p.add_argument("--still", type=float_in(0.0, 10.0), default=0.15,
                   help="px of motion per px of poke below which a pixel counts as still (default 0.15)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="pokes per forward pass (default 32)")
    p.add_argument("--letterbox", action="store_true", help="pad the whole image to a square instead of center-cropping")
    p.add_argument("--alpha", type=float_in(0.0, 1.0), default=0.55, help="opacity of the part colours (default 0.55)")
    p.add_argument("--overwrite", action="store_true", help="replace existing --out / --npy files")
    p.add_argument("--score", type=Path, metavar="DATA",
                   help="instead of an image: score the parts on a synthetic data set's test clips "
                        "(adjusted Rand index and recovered share vs a colour-only baseline)")
    p.add_argument("--n-clips", type=positive_int, default=48, help="test clips scored with --score (default 48)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the clip choice and k-means (default 0)")


def run(args: argparse.Namespace) -> int:
    from ipoke_core.analysis.parts import PartsError

    if args.score is not None:
        if args.image is not None or args.out is not None or args.npy is not None:
            raise PartsError("--score rates parts on a data set; it takes no --image, --out or --npy")
        return _score(args)
    if args.image is None:
        raise PartsError("name an image (-i IMAGE) or a data set to score (--score DATA)")
    if args.out is None and args.npy is None:
        raise PartsError("nothing to write: give --out PARTS.png and/or --npy LABELS.npy")
    return _image(args)


def _kwargs(args: argparse.Namespace) -> dict:
    return {"grid": args.grid, "directions": args.directions, "still_threshold": args.still,
            "batch_size": args.batch_size}


def _image(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ipoke_core.analysis.parts import PartsError, parts_for_image
    from ipoke_core.image import load_image
    from ipoke_core.outputs import check_outputs
    from ipoke_core.paths import checkpoint_paths
    from ipoke_core.session import write_parts_labels, write_parts_png

    outputs = [p for p in (args.out, args.npy) if p is not None]
    if args.out is not None and args.npy is not None and args.out.resolve() == args.npy.resolve():
        raise PartsError("--out and --npy name the same file")
    image = load_image(args.image)  # a bad image is refused before the model loads
    # before the work: never the image or the checkpoint, never an existing file without --overwrite
    check_outputs(outputs, inputs=[args.image, *checkpoint_paths(args.checkpoint)], overwrite=args.overwrite)
    poker = load_poker(args)
    with tqdm(total=1, desc="parts", unit="poke") as bar:
        def progress(done: int, total: int, message: str) -> None:
            bar.total = total
            bar.update(done - bar.n)

        res = parts_for_image(poker, image, letterbox=args.letterbox, progress=progress, seed=args.seed,
                              **_kwargs(args))
    print(f"{res.n_parts} part(s), {int((res.labels < 0).mean() * 100)} % of the model's square still; "
          f"{len(res.pokes)} pokes at {len(res.points)} grid points in {res.elapsed_s:.1f} s")
    # the same files as the app's Save buttons
    if args.out is not None:
        print(f"wrote {write_parts_png(args.out, image, res, args.alpha)}")
    if args.npy is not None:
        h, w = image.shape[:2]
        print(f"wrote {write_parts_labels(args.npy, res)}: labels {w}x{h} (-1 = still or outside the model's square)")
    return 0


def _score(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ipoke_core.analysis.parts_score import score_data_set

    poker = load_poker(args)
    with tqdm(total=args.n_clips, desc="parts score", unit="clip") as bar:
        def progress(done: int, total: int, message: str) -> None:
            bar.total = total
            bar.set_postfix_str(message, refresh=False)
            bar.update(done - bar.n)

        score = score_data_set(poker, args.score, n_clips=args.n_clips, seed=args.seed, progress=progress,
                               **_kwargs(args))
    print(f"{args.checkpoint} on {args.score}:")
    print(score.table())
    return 0
