"""``ipoke eval``: the paper's comparison tables on a held-out test set (Markdown + CSV)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ipoke_core.commands._common import (
    add_checkpoint_argument, allow_unverified, length_range, positive_int, seed_int,
)

HELP = ("evaluate a checkpoint (and baselines, ablations) on a test set: LPIPS, PSNR, SSIM, FVD, poke accuracy, "
        "motion error, structure, and on synthetic data against the simulator's true dynamics")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_argument(p)
    p.add_argument("--data", "-d", required=True, type=Path, help="prepared data set folder (its test split is used)")
    p.add_argument("--baselines", action="store_true", help="add the static and flow-warping baselines as rows")
    p.add_argument("--ablation", action="append", default=[], metavar="NAME=CKPT",
                   help="another checkpoint as a row named NAME (repeatable), e.g. 'single GRU=runs/rnn/checkpoints/best'")
    p.add_argument("--n-clips", type=int, default=100, help="test clips to evaluate (default 100; 0 = all)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the clip choice, pokes and heatmaps (default 0)")
    p.add_argument("--structure-clips", type=int, default=8,
                   help="clips whose correlation heatmap is scored for structure (default 8; 0 = skip)")
    p.add_argument("--heatmap-n", type=int, default=16, help="pokes per structure heatmap (default 16)")
    p.add_argument("--heatmap-magnitude", type=length_range, default=None, metavar="LO,HI",
                   help="poke lengths of the structure heatmaps in model pixels (default: the checkpoint's training "
                        "range); give two checkpoints the same range to compare their structure scores")
    p.add_argument("--truth-magnitude", type=length_range, default=None, metavar="LO,HI",
                   help="poke lengths of the true-dynamics columns in pixels at 64 px, scaled to the model's resolution "
                        "(default 1,4: inside both bundled checkpoints' training ranges); the same for every method and "
                        "checkpoint, so their truth scores compare")
    p.add_argument("--no-truth", action="store_true",
                   help="skip the true-dynamics columns (truth corr./diff., response AUC, drag, rigidity) and the "
                        "simulator row: they cost time")
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--lpips-vgg", type=Path, default=None, help="VGG16 weights (torchvision state dict) for LPIPS")
    p.add_argument("--lpips-lin", type=Path, default=None, help="LPIPS linear-layer weights (official lpips vgg.pth)")
    p.add_argument("--i3d", type=Path, default=None, help="I3D Kinetics-400 weights (pytorch-i3d state dict) for FVD")
    p.add_argument("--out", "-o", type=Path, default=Path("eval"), help="output folder for eval.md / eval.csv")
    p.add_argument("--record", action="store_true",
                   help="store the model's numbers and the baselines' in the checkpoint's sidecar (key 'evaluation'), "
                        "which the app and `ipoke info` show; needs --baselines")
    p.add_argument("--figure", type=int, default=0, metavar="N",
                   help="also write figure.png: the first N test clips as source with the poke arrow, "
                        "the model's frames and the ground truth (default 0: none)")
    p.add_argument("--figure-maps", type=Path, default=None, metavar="PNG",
                   help="also draw the first 6 structure clips' maps of the true-dynamics comparison: the source with "
                        "the poked part's subtree outlined, then the simulator's map and each method's, same pokes")
    p.add_argument("--figure-map", choices=("paper", "response"), default="paper",
                   help="which maps --figure-maps draws: the paper's Fig.-5 maps (default) or the response maps "
                        "(how far each pixel moves per pixel of poke)")


def run(args: argparse.Namespace) -> int:
    import sys

    import torch
    from tqdm import tqdm

    from ipoke_core.analysis.true_dynamics import TRUTH_MAGNITUDE, Simulator, TruthUnavailable
    from ipoke_core.evaluate import (
        PHYSICS_KEYS, TRUTH_KEYS, EvalError, EvalSettings, evaluate, flow_warp_method, load_eval_clips, model_method,
        static_method, write_report,
    )
    from ipoke_core.inference import Poker
    from ipoke_core.io_utils import ensure_writable_dir

    if args.n_clips < 0 or args.structure_clips < 0:
        raise EvalError("--n-clips and --structure-clips must be >= 0")
    if args.figure < 0:
        raise EvalError("--figure must be >= 0")
    if args.record and not args.baselines:
        raise EvalError("--record needs --baselines (the stored numbers are read against the static and flow-warp rows)")
    if args.figure_maps is not None and args.no_truth:
        raise EvalError("--figure-maps draws the true-dynamics comparison: drop --no-truth")
    if args.heatmap_n < 2:
        raise EvalError(f"--heatmap-n must be at least 2, got {args.heatmap_n}")
    if (args.lpips_vgg is None) != (args.lpips_lin is None):
        raise EvalError("LPIPS needs both --lpips-vgg and --lpips-lin")
    ablations = []
    for spec in args.ablation:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise EvalError(f"--ablation expects NAME=CHECKPOINT, got {spec!r}")
        ablations.append((name.strip(), Path(path.strip())))
    ensure_writable_dir(args.out)
    # every file this run writes, checked before the evaluation (which takes minutes) rather than after it
    from ipoke_core.outputs import check_outputs, check_replaceable
    from ipoke_core.paths import checkpoint_paths

    reports = [args.out / "eval.md", args.out / "eval.csv"] + ([args.out / "figure.png"] if args.figure else [])
    check_outputs(reports, inputs=checkpoint_paths(args.checkpoint), overwrite=True)
    if args.record:
        check_replaceable(checkpoint_paths(args.checkpoint)[1])
    torch.manual_seed(args.seed)

    # load everything that can fail before the long part starts
    lpips_model = i3d = None
    if args.lpips_vgg is not None:
        from ipoke_core.metrics.lpips import LPIPS

        lpips_model = LPIPS.from_files(args.lpips_vgg, args.lpips_lin, "cpu")
    unverified = allow_unverified(args)
    poker = Poker.from_checkpoint(args.checkpoint, args.device, allow_unverified=unverified, amp=args.amp)
    if args.i3d is not None:
        from ipoke_core.metrics.fvd import I3DEmbedder

        i3d = I3DEmbedder(args.i3d, str(poker.device))
        if lpips_model is not None:
            lpips_model = lpips_model.to(poker.device)
    elif lpips_model is not None:
        lpips_model = lpips_model.to(poker.device)
    rows = [(f"iPoke ({Path(args.checkpoint).name})", poker)]
    for name, path in ablations:
        other = Poker.from_checkpoint(path, args.device, allow_unverified=unverified, amp=args.amp)
        c0, c1 = poker.config, other.config
        if (c1.resolution, c1.seq_len) != (c0.resolution, c0.seq_len):
            raise EvalError(f"ablation {name} ({path}) makes {c1.seq_len} frames at {c1.resolution}px, the main checkpoint "
                            f"{c0.seq_len} frames at {c0.resolution}px: rows of one table must see the same clips")
        rows.append((name, other))
    for name, pk in rows:
        if not pk.trained:
            print(f"warning: {name} is an UNTRAINED (randomly initialised) checkpoint", file=sys.stderr)

    cfg = poker.config
    clips, data_info = load_eval_clips(args.data, cfg, args.n_clips or None, args.seed)
    methods = [model_method(name, pk, args.batch_size) for name, pk in rows]
    if args.baselines:
        methods += [static_method(cfg.seq_len), flow_warp_method(cfg.seq_len)]
    settings = EvalSettings(seed=args.seed, heatmap_n=args.heatmap_n, structure_clips=args.structure_clips,
                            magnitude_range=args.heatmap_magnitude or poker.magnitude_range(),
                            batch_size=args.batch_size, truth_magnitude=args.truth_magnitude or TRUTH_MAGNITUDE,
                            keep_maps=FIGURE_MAP_CLIPS if args.figure_maps is not None else 0)
    simulator, unavailable = None, {}
    if args.no_truth:
        unavailable = {key: "skipped (--no-truth)" for key in TRUTH_KEYS + PHYSICS_KEYS}
    else:
        try:
            simulator = Simulator.from_dataset(args.data, cfg.resolution, cfg.seq_len)
        except TruthUnavailable as e:
            unavailable = {key: str(e) for key in TRUTH_KEYS}
    with tqdm(total=1, desc="eval", unit="step") as bar:
        def progress(done: int, total: int, message: str) -> None:
            bar.total = total
            bar.set_postfix_str(message[:40], refresh=False)
            bar.update(done - bar.n)

        report = evaluate(methods, clips, settings, lpips_model, i3d, unavailable, progress=progress, simulator=simulator)
    if args.figure:
        print(f"wrote {write_figure(methods[0], clips[: args.figure], args.out / 'figure.png')}")
    if args.figure_maps is not None:
        if not report.maps:
            raise EvalError("--figure-maps: no clip was compared with the simulator "
                            f"({next((n for n in report.notes if n.startswith('truth')), 'see the notes')})")
        print(f"wrote {write_maps_figure(report.maps, args.figure_map, args.figure_maps)}")
    report.info = {"checkpoint": str(args.checkpoint), "data": f"{args.data} ({data_info})", **report.info}
    md, csv_path = write_report(report, args.out, header="## ipoke eval")
    print(report.to_markdown())
    print(f"wrote {md} and {csv_path}")
    if args.record:
        from ipoke_core.checkpoint import record_evaluation

        print(f"recorded the evaluation in {record_evaluation(args.checkpoint, evaluation_summary(report))}")
    return 0


def evaluation_summary(report) -> dict:
    """The model row (first) with the static, flow-warp and ground-truth rows, flat, for a sidecar."""
    keys = ("poke_accuracy_px", "motion_error_px", "psnr", "ssim", "sharpness_pct", "background_motion",
            "structure_auc", "structure_ring_auc", "truth_corr", "truth_diff", "response_ring_auc", "drag_px",
            "rigidity_px", "lpips", "fvd")
    out = {"date": report.info.get("date"), "data": report.info.get("data"), "clips": report.info.get("clips")}
    prefixes = {"static": "static_", "flow warping": "flow_warp_", "simulator": "simulator_",
                "ground truth": "ground_truth_"}
    for i, row in enumerate(report.rows):
        prefix = "" if i == 0 else next((p for name, p in prefixes.items() if row["method"].startswith(name)), None)
        if prefix is None:
            continue
        for key in keys:
            value = row.get(key)
            if value is not None and key not in row.get("skip", ()):
                out[prefix + key] = round(float(value), 4)
    return out


FIGURE_MAP_CLIPS = 6  # clips drawn by --figure-maps


def write_maps_figure(maps: list[dict], which: str, path: Path) -> Path:
    """``EvalReport.maps`` drawn as a PNG: a row per clip (``analysis.true_dynamics.comparison_row``),
    ``which`` = "paper" (Fig.-5 maps) or "response" (response maps), each captioned with its structure AUC."""
    import numpy as np

    from ipoke_core.analysis.true_dynamics import comparison_row
    from ipoke_core.image import write_png

    rows = [comparison_row(m["clip"].source, m["clip"].parts, m["clip"].parents, (m["clip"].poke.x, m["clip"].poke.y),
                           m[which], m["names"], m[f"{which}_auc"]) for m in maps]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_png(np.concatenate(rows, 0), path)
    return path


def write_figure(method, clips, path: Path) -> Path:
    """Source with poke arrow, generated frames and ground truth of ``clips``, as a PNG grid."""
    import numpy as np
    import torch

    from ipoke_core.image import write_png
    from ipoke_core.inference import to_tensor
    from ipoke_core.train.samples import sample_grid

    sources = np.stack([c.source for c in clips])
    pokes = [c.poke for c in clips]
    generated = method.videos(sources, pokes)
    grid = sample_grid(to_tensor(sources), torch.tensor([[p.x, p.y, p.dx, p.dy] for p in pokes]),
                       to_tensor(generated), to_tensor(np.stack([c.target for c in clips])))
    write_png(grid, path)
    return path
