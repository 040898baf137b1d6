"""``ipoke train``: train (or resume) a model on a prepared or synthetic data set.

Multi-GPU / multi-node: launch the same command with torchrun, e.g.
``torchrun --nproc_per_node 4 -m ipoke_core.cli train --config plants64 --data DIR --out RUN``.
"""
from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from ipoke_core.commands._common import add_device_argument, positive_float, positive_int

HELP = "train a model: both stages, all losses, resumable; multi-GPU with torchrun"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="preset name (plants64, figures64, plants128, paper64, paper128, tiny) or a TOML file; "
                                    "with --resume defaults to the run's saved config")
    p.add_argument("--data", type=Path, help="data set folder (dataset.json, train.txt, test.txt, clips/); "
                                              "with --resume defaults to the run's")
    p.add_argument("--out", type=Path, required=True, help="run folder: config, logs, samples, states, checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its newest saved state")
    p.add_argument("--init-from", type=Path, metavar="CHECKPOINT",
                   help="start a new run from this checkpoint's generator weights (fine-tuning, e.g. the bundled "
                        "resources/checkpoints/plants64); its model section must match --config. Usually with "
                        "--set train.stage1_steps=0, since the autoencoder is trained already")
    p.add_argument("--steps", type=positive_int, help="total iterations; stage 1, stage 2 and the GAN warm-up are scaled to fit")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=1e-4 --set train.batch_size=8 (repeatable)")
    p.add_argument("--vgg-weights", type=Path, help="torchvision VGG16/VGG19 state dict (.pth/.safetensors) for the "
                                                     "perceptual loss; without it a pixel-space fallback is used")
    p.add_argument("--lpips-weights", type=Path, help="LPIPS linear-head weights (official vgg.pth); with a VGG16 "
                                                       "--vgg-weights the best checkpoint is chosen by validation LPIPS")
    add_device_argument(p)
    p.add_argument("--until-step", type=positive_int, help="stop after this step with a resumable state (for chunked runs)")
    p.add_argument("--max-minutes", type=positive_float, help="stop after this many minutes with a resumable state")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def scale_steps(data: dict, steps: int) -> dict:
    """``--steps N``: N total iterations, keeping the stage-1 share and the GAN warm-up share."""
    from ipoke_core.config import ConfigError

    if steps < 1:
        raise ConfigError("--steps must be >= 1")
    tc = data["train"]
    if tc["schedule"] == "single_stage":
        s1, s2 = 0, steps
        old2 = max(1, tc["stage2_steps"])
    else:
        total = max(1, tc["stage1_steps"] + tc["stage2_steps"])
        s1 = round(steps * tc["stage1_steps"] / total)
        s2 = steps - s1
        old2 = max(1, tc["stage2_steps"])
        tc["stage1_steps"] = s1
    tc["gan_warmup_steps"] = round(tc["gan_warmup_steps"] * s2 / old2)
    tc["stage2_steps"] = s2
    return data


def _command_line(args: argparse.Namespace) -> str:
    """The command as the user would retype it (recorded in run.json and the checkpoint sidecar)."""
    parts = ["ipoke", "train"]
    for flag, value in (("--config", args.config), ("--data", args.data), ("--out", args.out),
                        ("--steps", args.steps), ("--vgg-weights", args.vgg_weights),
                        ("--lpips-weights", args.lpips_weights), ("--init-from", args.init_from),
                        ("--until-step", args.until_step),
                        ("--max-minutes", args.max_minutes)):
        if value is not None:
            parts += [flag, str(value)]
    for item in args.overrides:
        parts += ["--set", item]
    if args.device != "auto":
        parts += ["--device", args.device]
    if args.resume:
        parts.append("--resume")
    return shlex.join(parts)


def _read_run_info(path: Path) -> tuple[dict, str]:
    """A run's ``run.json`` as a dict, and what is wrong with it ('' when nothing is)."""
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        return {}, "is missing"
    except (OSError, ValueError) as e:
        return {}, f"is unreadable ({type(e).__name__})"
    if not isinstance(info, dict):
        return {}, "is not a JSON object"
    return info, ""


def _saved_path(info: dict, key: str) -> Path | None:
    """A path recorded in run.json, or None where it is absent, empty or not a string."""
    value = info.get(key)
    return Path(value) if isinstance(value, str) and value else None


def _inherit_fine_tunable(data: dict, init_from: Path, overrides: list[str]) -> None:
    """A fine-tuning run draws like the checkpoint it starts from: the model settings no weight's shape
    depends on (the motion dead zone, the motion prior's falloff) come from ``--init-from`` unless
    ``--set`` gives them, so fine-tuning the bundled model does not silently change them to the
    config file's."""
    from ipoke_core.checkpoint import read_meta
    from ipoke_core.config import FINE_TUNABLE

    model = read_meta(init_from)["model"]
    for key in FINE_TUNABLE:
        given = any(item.split("=", 1)[0].strip() == f"model.{key}" for item in overrides)
        if not given and key in model and model[key] != data["model"].get(key):
            data["model"][key] = model[key]
            print(f"model.{key} = {model[key]!r} from {init_from} (--set model.{key}=... to change it)")


def run(args: argparse.Namespace) -> int:
    from ipoke_core.config import ConfigError, apply_overrides, config_from_dict, load_config
    from ipoke_core.train import TrainOptions, train
    from ipoke_core.train.trainer import TrainingError

    run_dir: Path = args.out
    if args.resume and args.init_from is not None:
        raise TrainingError("--init-from starts a new run; --resume continues one from its own saved state: "
                            "pass one of them")
    saved_info: dict = {}
    info_problem = ""
    if args.resume:
        saved = run_dir / "config.toml"
        if not saved.is_file():
            raise TrainingError(f"--resume: {run_dir} is not a run folder ({saved} is missing)")
        cfg = load_config(saved)
        if args.config:
            given = load_config(args.config)
            if given.model != cfg.model:
                raise ConfigError(f"--resume: the model in {args.config} differs from the run's ({saved}); "
                                  "resume without --config or start a new run")
        saved_info, info_problem = _read_run_info(run_dir / "run.json")
    else:
        if not args.config or args.data is None:
            raise TrainingError("--config and --data are required for a new run (or pass --resume)")
        cfg = load_config(args.config)
    data = cfg.to_dict()
    apply_overrides(data, args.overrides)
    if args.init_from is not None:
        _inherit_fine_tunable(data, args.init_from, args.overrides)
    if args.steps is not None:
        scale_steps(data, args.steps)
    new = config_from_dict(data)
    if args.resume and new.model != cfg.model:
        raise ConfigError("--resume cannot change model.* settings (the saved weights have the old shape)")
    if args.resume and args.vgg_weights is None and new.train.perceptual == "vgg":
        args.vgg_weights = _saved_path(saved_info, "vgg_weights")
    if args.resume and args.lpips_weights is None:
        args.lpips_weights = _saved_path(saved_info, "lpips_weights")
    data_dir = args.data if args.data is not None else _saved_path(saved_info, "data_dir")
    if data_dir is None:  # never fall back to "." (Path("") is the current folder): say what is wrong with run.json
        raise TrainingError(f"--data is required: {run_dir / 'run.json'} {info_problem or 'does not name the data set'}")
    opts = TrainOptions(
        config=new, data_dir=data_dir, run_dir=run_dir, resume=args.resume, vgg_weights=args.vgg_weights,
        lpips_weights=args.lpips_weights, device=args.device, until_step=args.until_step,
        max_minutes=args.max_minutes, command=_command_line(args), progress=not args.quiet, init_from=args.init_from,
    )
    result = train(opts)
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        print(f"{result.status}: step {result.step} of {result.total_steps}, run folder {result.run_dir}")
        if result.last_checkpoint:
            print(f"last checkpoint: {result.last_checkpoint}")
        if result.best_checkpoint:
            print(f"best checkpoint: {result.best_checkpoint}")
    return 130 if result.status == "interrupted" else 0
