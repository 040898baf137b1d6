"""``ipoke prepare``: turn a folder of videos (or frame folders) into a training data set."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import parse_int_list, positive_int

HELP = "prepare real videos for training: decode, center-crop, resize, cache DIS flow (resumable)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=Path, help="folder of video files and/or frame folders")
    p.add_argument("--out", type=Path, required=True, help="data set folder to write (or to resume)")
    p.add_argument("--size", type=positive_int, default=64, help="frame size in pixels after the center crop")
    p.add_argument("--layout", default="auto", choices=["auto", "folder", "pokingplants", "iper", "taichi", "h36m"],
                   help="input layout and its train/test split (auto: detect)")
    p.add_argument("--frame-step", type=positive_int, default=1, help="keep every K-th source frame (temporal downsampling)")
    p.add_argument("--span", default="10",
                   help="comma-separated window lengths in frames for the flow cache (seq_len * data.frame_step)")
    p.add_argument("--flow-only", action="store_true",
                   help="only add missing flow caches (for --span) to an existing data set in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from ipoke_core.data.prepare import PrepareError, ensure_flow, prepare_videos

    spans = parse_int_list(args.span, "--span", "10 or 10,20", PrepareError)
    bar = None

    def progress(done: int, total: int, message: str) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = tqdm(total=total, unit=message.rstrip("s") or "item", desc="prepare")
        bar.n = done
        bar.refresh()

    def warn(msg: str) -> None:
        (tqdm.write if bar is not None else print)(f"warning: {msg}", file=sys.stderr)

    try:
        if args.flow_only:
            total = 0
            for span in spans:
                total += ensure_flow(args.out, span, progress=progress)
            print(f"{args.out}: computed {total} flow cache(s) for span(s) {', '.join(map(str, spans))}")
            return 0
        if args.input is None:
            raise PrepareError("--input is required (or --flow-only to add flow caches to --out)")
        meta = prepare_videos(args.input, args.out, args.size, args.layout, args.frame_step, spans,
                              progress=progress, warn=warn)
    finally:
        if bar is not None:
            bar.close()
    n_train = sum(1 for _ in open(args.out / "train.txt"))
    n_test = sum(1 for _ in open(args.out / "test.txt"))
    stats = meta["poke_stats"]
    print(f"{args.out}: {meta['n_clips']} videos ({n_train} train, {n_test} test; layout {meta['layout']}) at "
          f"{args.size}x{args.size}, {len(meta['skipped'])} skipped; foreground flow over {stats['span']} frames: "
          f"mean {stats['mean_magnitude_px']:.2f} px, p95 {stats['p95_magnitude_px']:.2f} px")
    return 0
