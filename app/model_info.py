"""What the window says about a checkpoint: the sidecar check run after loading, and the model line.

``load_poker`` is the app's loader (``ipoke_core.session.load_poker``: ``ipoke_core.inference.load_poker``,
imported on first use: it pulls in the model, seconds at start-up).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from ipoke_core.errors import UserError
from ipoke_core.quality import evaluation_lines, training_line
from ipoke_core.session import PokerFactory, load_poker

if TYPE_CHECKING:
    from ipoke_core.inference import Poker

__all__ = ["PokerFactory", "SidecarError", "check_sidecar", "load_poker", "model_summary"]


class SidecarError(UserError):
    """A checkpoint whose sidecar (``NAME.json``) holds a field of the wrong type."""


# sidecar sections the window reads; each must be a JSON object when present
SIDECAR_SECTIONS = ("training", "data_stats", "evaluation")


def check_sidecar(poker: Poker, path: str) -> Poker:
    """Raise ``SidecarError`` unless everything the window reads from ``poker.meta`` has the right type.

    Runs in the worker right after loading, so a bad sidecar never swaps the model half-way.
    Returns ``poker`` so it can wrap the loader.
    """
    meta = getattr(poker, "meta", None)
    sidecar = Path(path).with_suffix(".json").name
    if not isinstance(meta, dict):
        raise SidecarError(f"{sidecar}: the checkpoint's description is not a JSON object")
    for key in SIDECAR_SECTIONS:
        value = meta.get(key)
        if value is not None and not isinstance(value, dict):
            raise SidecarError(f"{sidecar}: '{key}' must be a JSON object ({{...}}), not {type(value).__name__}: "
                               f"the file is damaged or was edited by hand")
    try:
        lo, hi = poker.magnitude_range()
        float(lo), float(hi)
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as e:
        raise SidecarError(f"{sidecar}: data_stats.poke_magnitude_px must be two numbers ({e})") from None
    return poker


def model_summary(poker: Poker) -> str:
    """The model line of the side panel (rich text), for a user: what it learnt from and how well it
    does, in words and numbers beside a still video and the flow-warp baseline (lower is better)."""
    cfg = poker.config
    meta = poker.meta or {}
    parts = [f"{poker.resolution}×{poker.resolution} px model, {cfg.seq_len} frames"]
    if poker.trained:
        parts.append(training_line(meta))  # "trained 4733 steps (2224 fine-tuning) on synthetic plants"
    if cfg.part_masks:
        parts.append(f"moves the object by parts (up to {cfg.part_masks})")
    if cfg.object_mask:  # says why a poke on the background moves nothing
        parts.append("moves only what it sees as the object")
    if cfg.motion_deadzone_px > 0:  # says why a very short poke moves nothing
        parts.append(f"motion under {cfg.motion_deadzone_px:g} px is shown still")
    text = " · ".join(html.escape(part) for part in parts)
    if not poker.trained:
        text += " · <span style='color:#d08a00'>untrained</span>"
    quality = evaluation_lines(meta)  # the same lines `ipoke info` prints
    if quality:
        head, *measures = quality
        # a zero-width space after "/" and "_" lets a long data path wrap instead of widening the panel
        lines = [html.escape(line).replace("/", "/\u200b").replace("_", "_\u200b")
                 for line in (head[:1].upper() + head[1:] + ":", *measures)]
        text += "<br>" + "<br>".join(lines)
    return text
