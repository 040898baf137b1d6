"""``ipoke bench``: measure inference (default), training, heatmap or data-loading speed on this machine."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import add_device_argument, int_in, parse_int_list, positive_float, positive_int

HELP = ("benchmark: latency of one poke and of 64 batched pokes, fp32 and bf16 (or, instead, --precision, --train, "
        "--heatmap, --data DIR, --learn DIR)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_device_argument(p)
    p.add_argument("--paper", action="store_true", help="also measure the paper's widths (paper64, paper128)")
    p.add_argument("--resolutions", default="64,128", help="comma-separated model resolutions")
    p.add_argument("--repeats", type=positive_int, default=7, help="timed rounds (default 7)")
    p.add_argument("--compile", action="store_true", help="also time the torch.compiled model (inference, --heatmap, --train)")
    p.add_argument("--train", action="store_true", help="training samples/s at 64x64, batch 32")
    p.add_argument("--heatmap", action="store_true", help="seconds per heatmap location (N=64, 64x64)")
    p.add_argument("--precision", action="store_true",
                   help="fp32 against bf16 on a bundled checkpoint and sample: one poke, 64 pokes, a heatmap, and how "
                        "far the frames and heatmap values differ (what `--amp auto` is chosen by)")
    p.add_argument("--checkpoint", default=None,
                   help="with --precision: the checkpoint to compare, a path or a bundled name (default: plants64)")
    p.add_argument("--data", type=Path, default=None, help="data-loader samples/s over a prepared data set")
    p.add_argument("--full-resolution", type=int_in(65, 4096), default=None, metavar="SIDE",
                   help="time drawing a video at a SIDE px photo's own resolution, beside one poke "
                        "(the bundled model, or --checkpoint)")
    learn = p.add_argument_group("learning speed (--learn)")
    learn.add_argument("--learn", type=Path, default=None, metavar="TRAIN_DATA",
                       help="train --config on this data set for --minutes, scoring every --every minutes against the "
                            "static and flow-warp baselines; prints minutes to beat flow-warp on motion error")
    learn.add_argument("--test-data", type=Path, default=None,
                       help="data set whose test split scores the model (default: TRAIN_DATA's; use another seed)")
    learn.add_argument("--config", default="plants64", help="preset or TOML file to train (default plants64)")
    learn.add_argument("--minutes", type=positive_float, default=20.0, help="training wall-clock minutes (default 20)")
    learn.add_argument("--every", type=positive_float, default=5.0, help="minutes between scores (default 5)")
    learn.add_argument("--n-clips", type=positive_int, default=60, help="test windows scored (default 60)")
    learn.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override")
    learn.add_argument("--out", type=Path, default=Path("runs/learn"), help="run folder (must not hold another run)")


def machine_load(when: str) -> str:
    """One line with the 1-minute load average, and a warning when it exceeds the core count: timings
    taken on a busy machine (a training run in the background) are not worth quoting."""
    import os

    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    busy = f"  WARNING: above the {cores} cores: the machine is busy, these timings are not comparable" \
        if load > cores else ""
    return f"machine load {when}: {load:.2f} ({cores} cores){busy}"


def run(args: argparse.Namespace) -> int:
    try:
        print(machine_load("before"), flush=True)
        return _run(args)
    finally:
        print(machine_load("after"), flush=True)


def _resolutions(text: str) -> tuple[int, ...]:
    """The model resolutions of ``--resolutions``: powers of two in [32, 1024]."""
    from ipoke_core.errors import UserError

    values = parse_int_list(text, "--resolutions", "64,128", UserError)
    if not values:
        raise UserError("--resolutions is empty; give sizes like 64,128")
    for r in values:
        if r < 32 or r > 1024 or r & (r - 1):
            raise UserError(f"--resolutions: {r} is not a power of two between 32 and 1024")
    return values


def _run(args: argparse.Namespace) -> int:
    resolutions = _resolutions(args.resolutions)  # before importing torch: a typo fails at once
    import torch

    from ipoke_core.benchmark import HEADER, Variant, batch_rounds, bench_inference
    from ipoke_core.config import default_model_config, paper_model_config
    from ipoke_core.device import cpu_has_bf16_units, resolve_device

    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"CUDA: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
    if args.train:
        _train(args)
    if args.heatmap:
        _heatmap(args)
    if args.data is not None:
        _data(args)
    if args.precision:
        _precision(args)
    if args.full_resolution is not None:
        _full_resolution(args)
    if args.learn is not None:
        from ipoke_core.train.learn_bench import learning_benchmark

        learning_benchmark(args.config, args.learn, args.test_data or args.learn, args.out, args.minutes, args.every,
                           n_clips=args.n_clips, overrides=args.set, device=args.device)
    if (args.train or args.heatmap or args.precision or args.data is not None or args.learn is not None
            or args.full_resolution is not None):
        return 0

    # fp32 and bf16 autocast side by side in the same run (issue 14), and with --compile the compiled
    # model at the precision Poker uses by default (`--amp auto`) beside them
    if resolve_device(args.device).type == "cpu":
        print(f"CPU bf16 units (AMX / AVX512-BF16): {'yes' if cpu_has_bf16_units() else 'no: bf16 is emulated'}; "
              f"`--amp auto` uses {'bf16' if cpu_has_bf16_units() else 'fp32'} here")
    variants = [Variant("off"), Variant("bf16")] + ([Variant("auto", compiled=True)] if args.compile else [])
    print(f"{args.repeats} interleaved rounds per model (one poke), {batch_rounds(args.repeats)} of the batch",
          flush=True)
    rows = []
    for r in resolutions:
        models = [(f"default{r}", default_model_config(r))]
        if args.paper and r in (64, 128):
            models.append((f"paper{r}", paper_model_config(r)))
        for name, cfg in models:
            for b in bench_inference(name, cfg, variants, args.device, repeats=args.repeats):
                rows.append(b.row())
                print(b.row(), flush=True)
    print()
    print(HEADER)
    print("\n".join(rows))
    return 0


def _train(args: argparse.Namespace) -> None:
    """``--train``: training samples/s of the default model (and with --paper the paper's), 64x64, batch 32."""
    from ipoke_core.device import resolve_device
    from ipoke_core.train.bench import HEADER, training_benchmarks

    if resolve_device(args.device).type == "cpu":
        print("training benchmark on the CPU: 2 timed iterations per model (the optimised path only differs on CUDA)")
    rows = []
    for b in training_benchmarks(args.device, args.repeats, args.paper, args.compile):
        rows.append(b.row())
        print(b.row(), flush=True)
    print()
    print("training samples/s (stage-2 iteration: generator + discriminators), 64x64, batch 32")
    print(HEADER)
    print("\n".join(rows))


def _heatmap(args: argparse.Namespace) -> None:
    """``--heatmap``: seconds per heatmap location."""
    from ipoke_core.analysis.bench import heatmap_benchmark

    for compiled in (False, True) if args.compile else (False,):  # with --compile: eager, then compiled
        out = heatmap_benchmark(args.device, args.repeats, compiled)
        times = ", ".join(f"{t:.2f}" for t in out["times_s"])
        print(f"heatmap  {out['model']} {out['resolution']}x{out['resolution']} N={out['n']} on {out['device']}: "
              f"median {out['median_s']:.2f} s per location (model {out['generate_median_s']:.2f} s, "
              f"flow {out['flow_median_s']:.2f} s; runs: {times})", flush=True)


def _bench_checkpoint(args: argparse.Namespace, what: str) -> tuple[Path, Path]:
    """``(checkpoint, sample image)`` of ``--checkpoint`` (a path or a bundled model's name) or the default."""
    from ipoke_core.errors import UserError
    from ipoke_core.paths import CHECKPOINTS, DEFAULT_CHECKPOINT, SAMPLES, checkpoint_paths, sample_of_kind

    checkpoint = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
    if not checkpoint_paths(checkpoint)[0].exists() and checkpoint_paths(CHECKPOINTS / checkpoint.name)[0].exists():
        checkpoint = CHECKPOINTS / checkpoint.name  # a bundled model by name: --checkpoint figures64
    if not checkpoint_paths(checkpoint)[0].exists():
        raise UserError(f"{what}: no checkpoint at {checkpoint} (give one with --checkpoint)")
    image = sample_of_kind(checkpoint, sorted(SAMPLES.glob("*.png")))
    if image is None:
        raise UserError(f"{what}: no sample image in {SAMPLES}")
    return checkpoint, image


def _precision(args: argparse.Namespace) -> None:
    """``--precision``: fp32 against bf16 autocast on trained weights and a real sample, with differences."""
    from ipoke_core.benchmark import batch_rounds, bench_precision
    from ipoke_core.device import cpu_has_bf16_units, resolve_device

    checkpoint, image = _bench_checkpoint(args, "--precision")
    if resolve_device(args.device).type == "cpu":
        print(f"CPU bf16 units (AMX / AVX512-BF16): {'yes' if cpu_has_bf16_units() else 'no: bf16 is emulated'}")
    b = bench_precision(checkpoint, image, args.device, repeats=args.repeats)
    print(f"{checkpoint.name} on {image.name}, {b.device}, {args.repeats} interleaved rounds of one poke, "
          f"{batch_rounds(args.repeats)} of the batch and of the heatmap; `--amp auto` runs "
          + ", ".join(f"{v} at batch {k}" for k, v in b.auto_choice.items()))
    print(b.table(), flush=True)


def _full_resolution(args: argparse.Namespace) -> None:
    """``--full-resolution SIDE``: drawing a video at a SIDE px photo's resolution, against one poke."""
    import statistics
    import time

    import cv2

    from ipoke_core.image import load_image
    from ipoke_core.inference import load_poker
    from ipoke_core.poke import Poke

    checkpoint, image = _bench_checkpoint(args, "--full-resolution")
    side = args.full_resolution
    poker = load_poker(checkpoint, args.device)
    if not poker.predicts_motion:
        from ipoke_core.errors import UserError

        raise UserError(f"--full-resolution: {checkpoint.name} draws no motion of its own (pixel decoder)")
    photo = cv2.resize(load_image(image), (side, side), interpolation=cv2.INTER_CUBIC)
    poke = Poke(side * 0.45, side * 0.4, side / 20, 0)
    pokes, draws = [], []
    for _ in range(args.repeats + 1):  # the first round warms up, and is dropped
        t0 = time.perf_counter()
        video = poker.poke(photo, poke)
        t1 = time.perf_counter()
        _ = video.full_resolution
        pokes.append((t1 - t0) * 1000)
        draws.append((time.perf_counter() - t1) * 1000)
    poke_ms, draw_ms = statistics.median(pokes[1:]), statistics.median(draws[1:])
    print(f"{checkpoint.name} on {image.name} at {side}x{side}, {poker.device}, {args.repeats} rounds: one poke "
          f"{poke_ms:.1f} ms at {poker.resolution} px; drawing its {video.n_frames} frames at {side} px adds "
          f"{draw_ms:.1f} ms ({draw_ms / poke_ms:.2f}x the poke)", flush=True)


def _data(args: argparse.Namespace) -> None:
    """``--data DIR``: data-loader samples/s."""
    from ipoke_core.data.bench import bench_loader
    from ipoke_core.data.layout import read_dataset_meta

    meta = read_dataset_meta(args.data)
    r = bench_loader(args.data)
    print(f"data: {args.data} ({meta['kind']}, stored at {meta['resolution']}px)")
    print(f"  one process, one thread: {r['items_per_s_one_process']:.0f} items/s")
    print(f"  DataLoader, 2 workers, batch 32, 64x64: {r['samples_per_s_loader']:.0f} samples/s "
          f"({r['samples_per_s_loader'] / 32:.1f} batches/s over {r['batches']} batches)")
