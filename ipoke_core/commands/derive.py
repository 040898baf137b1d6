"""``ipoke derive``: a copy of a checkpoint with other rendering settings, the same weights.

Settings that change how frames are drawn but no weight (``config.RENDERING_ONLY``: the motion
dead zone and the object mask's decision threshold) can be changed without training. The copy keeps
the training record and the data statistics, records where it came from (``derived``) and drops the
measured quality, which belonged to the old rendering: measure the copy again with ``ipoke eval
--record``.
"""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ipoke_core.commands._common import add_allow_unverified_argument, allow_unverified, float_in

HELP = "copy a checkpoint with another motion dead zone or mask threshold (same weights, no training)"

# the settings derive changes (``config.RENDERING_ONLY``): ModelConfig field -> (option, what it says)
SETTINGS = {"motion_deadzone_px": ("--motion-deadzone", "motion dead zone {:g} -> {:g} px"),
            "movable_threshold": ("--movable-threshold", "movable above {:g} -> {:g}")}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="the checkpoint to copy (NAME or NAME.json)")
    p.add_argument("--out", "-o", required=True, type=Path, help="the new checkpoint NAME")
    p.add_argument("--motion-deadzone", type=float_in(0.0, 2.0), metavar="PX",
                   help="backward flows shorter than PX model pixels are drawn as still (0 = off; "
                        "warp-decoder checkpoints only)")
    p.add_argument("--movable-threshold", type=float_in(0.0, 1.0), metavar="P",
                   help="the object mask calls a pixel movable above P: a poke acts there and heatmaps "
                        "read motion there (checkpoints with an object mask only)")
    p.add_argument("--overwrite", action="store_true", help="replace a checkpoint that already exists at --out")
    add_allow_unverified_argument(p)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from ipoke_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from ipoke_core.config import ConfigError
    from ipoke_core.errors import UserError
    from ipoke_core.model import IPoke
    from ipoke_core.outputs import check_outputs
    from ipoke_core.paths import checkpoint_paths

    given = {name: getattr(args, flag[2:].replace("-", "_")) for name, (flag, _) in SETTINGS.items()}
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise UserError("ipoke derive: give --motion-deadzone and/or --movable-threshold (what to change)")

    # the copy never replaces the checkpoint it is made from (its measured quality would be lost), however
    # --out is spelled; an existing checkpoint at --out only with --overwrite
    check_outputs(checkpoint_paths(args.out), inputs=checkpoint_paths(args.checkpoint), overwrite=args.overwrite)
    model, meta = load_checkpoint(args.checkpoint, allow_unverified=allow_unverified(args))
    if "movable_threshold" in changes and not model.cfg.object_mask:
        raise CheckpointError(f"{args.checkpoint}: --movable-threshold needs a checkpoint with an object mask "
                              "(model.object_mask); this one has none")
    old = {name: getattr(model.cfg, name) for name in changes}
    cfg = dataclasses.replace(model.cfg, **changes)
    try:
        cfg.validate()
    except ConfigError as e:
        raise CheckpointError(f"{args.checkpoint}: {e}") from None
    copy = IPoke(cfg)
    copy.load_state_dict(model.state_dict())
    command = shlex.join(["ipoke", "derive", str(args.checkpoint), "--out", str(args.out),
                          *[x for name, value in changes.items() for x in (SETTINGS[name][0], f"{value:g}")]])
    keep = {k: v for k, v in meta.items() if k not in ("evaluation", "weights_sha256", "model", "created", "git_revision")}
    keep["derived"] = {"command": command, "from_weights_sha256": meta.get("weights_sha256"),
                       "from_created": meta.get("created"),
                       **{name: [old[name], value] for name, value in changes.items()}}
    path = save_checkpoint(args.out, copy, keep)
    print(f"wrote {path}: the weights of {args.checkpoint}, "
          + ", ".join(SETTINGS[name][1].format(old[name], value) for name, value in changes.items()))
    if meta.get("evaluation"):
        print("its measured quality was for the old rendering and is not copied; "
              f"measure the copy with `ipoke eval -c {args.out} --data DATA --baselines --record`")
    return 0
