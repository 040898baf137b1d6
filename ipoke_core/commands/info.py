"""``ipoke info``: describe a checkpoint (config, training summary, data statistics, measured quality);
``--card`` prints the same as a Markdown model card (``ipoke_core.model_card``).

The measured quality is the sidecar's ``evaluation`` entry (``ipoke eval --record``), worded by
``ipoke_core.quality``, which the desktop app uses too: the CLI and the GUI say the same thing.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ipoke_core import json_text
from ipoke_core.commands._common import add_allow_unverified_argument, allow_unverified
from ipoke_core.paths import DEFAULT_CHECKPOINT
from ipoke_core.quality import evaluation_lines, training_line, weak_response_warning

HELP = "show what a checkpoint is: model config, whether and how it was trained, how well it pokes"



def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, nargs="?", default=DEFAULT_CHECKPOINT)
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print the whole sidecar as JSON")
    shown.add_argument("--card", action="store_true",
                       help="print a Markdown model card (what it is, its training, its recorded evaluation)")
    add_allow_unverified_argument(p)


def _section(meta: dict[str, Any], key: str) -> dict[str, Any]:
    value = meta.get(key, {})
    if not isinstance(value, dict):
        print(f"{key:<12} (invalid in the sidecar: expected an object, got {type(value).__name__})")
        return {}
    return value


def run(args: argparse.Namespace) -> int:
    from ipoke_core.checkpoint import load_checkpoint
    from ipoke_core.config import ModelConfig

    # full load: also verifies the weights
    model, meta = load_checkpoint(args.checkpoint, allow_unverified=allow_unverified(args))
    if args.json:
        print(json_text.dumps(meta, indent=2, sort_keys=True))  # strict JSON: NaN is printed as null
        return 0
    if args.card:
        from ipoke_core.model_card import model_card

        # the name, not the path as typed: a card reads the same from any folder
        print(model_card(Path(args.checkpoint).name, meta, sum(p.numel() for p in model.parameters())), end="")
        return 0
    m = meta["model"]
    print(f"checkpoint   {args.checkpoint}")
    steps = training_line(meta).removeprefix("trained").strip()  # "4733 steps (2224 fine-tuning)" or ""
    print(f"trained      {('yes, ' + steps if steps else 'yes') if meta.get('trained') else 'NO (random initialisation)'}")
    extras = ""
    if m.get("motion_deadzone_px"):
        extras += f", motion dead zone {m['motion_deadzone_px']:g} px"
    if model.cfg.motion_prior_sigma != ModelConfig.motion_prior_sigma:  # the default: every checkpoint before the field
        extras += f", motion prior sigma {model.cfg.motion_prior_sigma:g} R"
    if model.cfg.object_mask:
        extras += f", object mask (movable above {model.cfg.movable_threshold:g}"
        extras += f", gate reach {model.cfg.gate_reach} px)" if model.cfg.gate_reach else ")"
    print(f"model        {m['resolution']}x{m['resolution']}, channels {m['channels']}, bottleneck {m['bottleneck']}, "
          f"depth K={m['depth']}, dynamics={m['dynamics']}, poke={m['poke_mode']}, T={m['seq_len']}, "
          f"decoder={m.get('decoder', 'pixel')}{extras}")
    print(f"parameters   {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M")
    for key, value in sorted(_section(meta, "training").items()):
        print(f"training.{key:<14} {value}")
    for key, value in sorted(_section(meta, "data_stats").items()):
        print(f"data.{key:<18} {value}")
    derived = _section(meta, "derived")
    if derived.get("command"):
        print(f"derived      {derived['command']}  (same weights; training record of the original)")
    _section(meta, "evaluation")  # says so when it is not an object
    lines = evaluation_lines(meta)
    if lines:
        print(f"quality      {lines[0]}")
        for line in lines[1:]:
            print(f"             {line}")
    elif meta.get("trained"):
        print("quality      not measured (`ipoke eval --baselines --record` measures it)")
    warning = weak_response_warning(meta)
    if warning:
        print(f"WARNING      {warning}")
    return 0
