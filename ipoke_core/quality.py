"""What a checkpoint's measured quality says, in plain words (``ipoke info`` and the app's model line).

The numbers are the sidecar's ``evaluation`` entry, written by ``ipoke eval --baselines --record``:
pixel errors on the model's test set next to the static baseline (a video that does not move) and
the flow-warp baseline.
"""
from __future__ import annotations

import math
import shlex
from typing import Any

# a model whose poke accuracy is not at least this much better than the static baseline's barely responds
WEAK_RESPONSE_MARGIN = 0.10


def _number(value: Any) -> float | None:
    """A finite number from the sidecar, else ``None`` (a hand-edited file may hold anything)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _evaluation(meta: dict[str, Any]) -> dict[str, Any]:
    ev = meta.get("evaluation")
    return ev if isinstance(ev, dict) else {}


def trained_steps(meta: dict[str, Any]) -> tuple[int | None, int | None]:
    """``(all iterations behind the weights, iterations of the last run)``.

    A fine-tuning run (``ipoke train --init-from``) records only its own steps, plus the steps of the
    checkpoint it started from (``training.init_from``, itself cumulative); the first number adds
    them. ``(None, None)`` when the sidecar says nothing usable.
    """
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    own = _number(training.get("steps"))
    if own is None:
        return None, None
    init = training.get("init_from") if isinstance(training.get("init_from"), dict) else {}
    before = _number(init.get("total_steps", init.get("steps")))
    return int(own + (before or 0)), int(own)


def trained_on(meta: dict[str, Any]) -> str | None:
    """What the weights learnt from, in words: "synthetic plants", "synthetic figures", or the data
    folder of a prepared set; None when the sidecar does not say."""
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    command = training.get("data_command")
    if not isinstance(command, str):
        init = training.get("init_from") if isinstance(training.get("init_from"), dict) else {}
        command = init.get("data_command")
    if not isinstance(command, str) or not command.strip():
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if "synth" in words and "--kind" in words[:-1]:
        return f"synthetic {words[words.index('--kind') + 1]}s"
    if "--out" in words[:-1]:
        return f"the videos of {words[words.index('--out') + 1]}"
    return None


def training_line(meta: dict[str, Any]) -> str:
    """``trained 4733 steps (2224 fine-tuning) on synthetic plants``, ``trained 2509 steps`` or ``trained``."""
    total, own = trained_steps(meta)
    where = trained_on(meta)
    on = f" on {where}" if where else ""
    if total is None:
        return "trained" + on
    return f"trained {total} steps" + (f" ({own} fine-tuning)" if own != total else "") + on


def evaluation_lines(meta: dict[str, Any]) -> list[str]:
    """The sidecar's measured quality in plain words, one line per measure; empty when there is none."""
    ev = _evaluation(meta)
    poke, motion = _number(ev.get("poke_accuracy_px")), _number(ev.get("motion_error_px"))
    if poke is None and motion is None:
        return []
    date, data = ev.get("date"), ev.get("data")
    head = "tested" + (f" {date}" if isinstance(date, str) and date else "")
    head += (f" on {data}" if isinstance(data, str) and data else "") + " (errors in pixels: lower is better)"
    lines = [head]

    def beside(*rows: tuple[str, str]) -> str:
        found = [f"{name} {value:.2f} px" for name, key in rows if (value := _number(ev.get(key))) is not None]
        return f" ({'; '.join(found)})" if found else ""

    still, warp = ("a video that stands still", "static"), ("the flow-warp baseline", "flow_warp")
    if poke is not None:
        lines.append(f"the poked point lands {poke:.2f} px from where it should"
                     + beside((still[0], f"{still[1]}_poke_accuracy_px"), (warp[0], f"{warp[1]}_poke_accuracy_px")))
    if motion is not None:
        lines.append(f"the motion of the whole image is off by {motion:.2f} px"
                     + beside((still[0], f"{still[1]}_motion_error_px"), (warp[0], f"{warp[1]}_motion_error_px")))
    drag = _number(ev.get("drag_px"))
    if drag is not None:
        lines.append(f"it drags the still background beside a 2 px poke by {drag:.2f} px (the true motion: 0)")
    return lines


def weak_response_warning(meta: dict[str, Any]) -> str | None:
    """A plain warning when the checkpoint's own test says it barely responds to pokes, else ``None``.

    Barely responds: its poke accuracy is not at least ``WEAK_RESPONSE_MARGIN`` (10 %) better than
    the static baseline's, i.e. its videos are hardly closer to the truth than a video that stands still.
    """
    ev = _evaluation(meta)
    poke, static = _number(ev.get("poke_accuracy_px")), _number(ev.get("static_poke_accuracy_px"))
    if poke is None or static is None or static <= 0 or poke < (1 - WEAK_RESPONSE_MARGIN) * static:
        return None
    return (f"This model barely responds to pokes: on its test set its poke accuracy ({poke:.2f} px) is not "
            f"{WEAK_RESPONSE_MARGIN:.0%} better than a video that does not move ({static:.2f} px). Expect little "
            "motion whatever you poke; it is the model, not your poking.")
