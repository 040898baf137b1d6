"""``ipoke synth``: generate a synthetic data set of poked plants or figures with ground truth."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import finite_float, int_in, non_negative_int, parse_int_list, positive_float, positive_int, seed_int

# one clip is simulated in memory: 1000 frames at 256 px is 0.8 GiB (issue 33: --frames 10000000 ran 90 s
# silently towards ~30 GB)
MAX_CLIP_BYTES = 1 << 30

HELP = "generate synthetic videos of poked plants/figures (frames, flow cache, ground truth)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=["plant", "figure"], default="plant")
    p.add_argument("--n", type=positive_int, default=2000, help="number of clips (every tenth is a test clip)")
    p.add_argument("--size", type=int_in(8, 1024), default=128, help="frame size in pixels (square, 8 to 1024)")
    p.add_argument("--frames", type=int_in(1, 1000), default=30,
                   help="frames per clip, 1 to 1000 (the poke starts right after frame 0)")
    p.add_argument("--seed", type=seed_int, default=0, help="clip i depends only on (kind, seed, i)")
    p.add_argument("--out", type=Path, required=True, help="output folder (empty, or the same data set to resume)")
    p.add_argument("--workers", type=positive_int, default=2, help="processes")
    p.add_argument("--fps", type=positive_float, default=15.0, help="frames per second of the simulation (default 15)")
    p.add_argument("--flow-spans", default="10",
                   help="comma-separated frame spans of the cached DIS flow from frame 0 (seq_len * frame_step)")
    p.add_argument("--pushes", type=positive_int, default=1,
                   help="clips per object, each pushed at its own point (default 1: every clip a new object)")
    p.add_argument("--props", type=non_negative_int, default=0,
                   help="up to this many static props (boxes, pictures, balls, bottles) behind each object (default 0)")
    p.add_argument("--push-directions", choices=("across", "any"), default="across",
                   help="which way each clip's push points: across the poked part, as a hand pushes a stem "
                        "(default), or any way alike, as a user pokes")
    p.add_argument("--wind", type=finite_float, default=0.0, help="light breeze, angular acceleration in rad/s^2 (0: off)")
    p.add_argument("--sheet", type=Path, help="also write a contact sheet PNG of the first training clips")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --sheet image")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


SHEET_FORMATS = (".png", ".jpg", ".jpeg")


def check_sheet_path(sheet: Path, error: type[Exception]) -> None:
    """Raise ``error`` unless ``sheet`` names an image file OpenCV can write (not a folder)."""
    if sheet.is_dir():
        raise error(f"--sheet {sheet} is a folder; name the contact sheet file, e.g. {sheet / 'sheet.png'}")
    if sheet.suffix.lower() not in SHEET_FORMATS:
        raise error(f"--sheet {sheet}: the contact sheet is a PNG or JPEG image; name it .png or .jpg")


def run(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from ipoke_core.data.synthetic.generate import SynthError, generate_dataset

    spans = parse_int_list(args.flow_spans, "--flow-spans", "10,20", SynthError)
    clip_bytes = args.frames * args.size * args.size * 3 * 4  # one clip's frames, as float32 while simulated
    if clip_bytes > MAX_CLIP_BYTES:
        raise SynthError(f"a clip of {args.frames} frames at {args.size}x{args.size} needs about "
                         f"{clip_bytes / 2**30:.1f} GiB (limit {MAX_CLIP_BYTES / 2**30:.0f} GiB per clip); "
                         "use fewer --frames or a smaller --size")
    if args.sheet is not None:  # checked now, not after minutes of generating
        from ipoke_core.outputs import check_outputs

        check_sheet_path(args.sheet, SynthError)
        check_outputs([args.sheet], overwrite=args.overwrite)
    bar = None if args.quiet else tqdm(total=args.n, unit="clip", desc=f"synth {args.kind}")

    def progress(done: int, total: int, message: str) -> None:
        if bar is not None:
            bar.n = done
            bar.refresh()

    t0 = time.perf_counter()
    meta = generate_dataset(args.out, args.kind, args.n, args.size, args.frames, args.seed, args.workers,
                            progress=progress, fps=args.fps, flow_spans=spans, wind=args.wind,
                            pushes=args.pushes, props=args.props, push_directions=args.push_directions)
    if bar is not None:
        bar.close()
    dt = time.perf_counter() - t0
    stats = meta["poke_stats"]
    print(f"{args.out}: {args.n} {args.kind} clips of {args.frames} frames at {args.size}x{args.size} "
          f"in {dt:.1f} s ({args.n / dt:.1f} clips/s); foreground poke magnitude over {stats['span']} frames: "
          f"mean {stats['mean_magnitude_px']:.2f} px, p95 {stats['p95_magnitude_px']:.2f} px")
    if args.sheet is not None:
        import cv2

        from ipoke_core.data.synthetic.sheet import contact_sheet
        from ipoke_core.io_utils import atomic_path

        sheet = contact_sheet(args.out, upscale=2 if args.size <= 64 else 1)
        with atomic_path(args.sheet) as tmp:
            if not cv2.imwrite(str(tmp), sheet[..., ::-1]):
                raise SynthError(f"cannot write contact sheet {args.sheet}")
        print(f"contact sheet: {args.sheet}")
    return 0
