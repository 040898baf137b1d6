"""What the window says, decided without Qt: the banner over the canvas, the hint under it, the
canvas's message while poking is off, and the status bar's permanent fields.

Each function takes plain state and returns text, so the rules are tested without a window
(tests/test_app_messages.py); the window only puts the text into its labels.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ipoke_core.quality import weak_response_warning

if TYPE_CHECKING:
    from ipoke_core.inference import Poker

# the hint under the canvas, by state
HINTS = {
    "no image": "Open an image (Ctrl+O), drop a file on the window, paste (Ctrl+V) or pick a sample.",
    "loading": "The model is loading; you can poke this image as soon as it is ready.",
    "no model": "Load a checkpoint to poke this image (Model ▸ Open checkpoint…).",
    "heatmap": "Click a point on the object to compute its heatmap; click more points to compare. "
               "Press P to go back to poking.",
    "poke": "Drag on the image to poke: press on the object, drag to where it should move, release. "
            "Shift+drag adds a poke. Drag the dimmed area to move the square the model sees.",
}

_BLUE = "background:#2b4a6b; color:#e8f0ff;"
_RED = "background:#6b2b2b; color:#ffe8e8;"
_AMBER = "background:#6b5a1b; color:#fff6d8;"
# every banner's box, after its colours
BANNER_BOX = "padding:6px 10px; border-radius:4px;"


@dataclass(frozen=True)
class Banner:
    """The banner over the canvas: rich text and its colours (a style sheet)."""

    text: str
    style: str


def banner(poker: Poker | None, loading: bool) -> Banner | None:
    """The banner for the current model (``None``: no banner): loading, none, untrained or weak."""
    if loading and poker is None:
        return Banner("Loading the model…", _BLUE)
    if poker is None:
        return Banner("<b>No model loaded.</b> No checkpoint is bundled in resources/checkpoints. "
                      "Use <i>Model ▸ Open checkpoint…</i> (Ctrl+Shift+O) to load one.", _RED)
    if not poker.trained:
        if poker.predicts_motion:  # the motion head starts as the Gaussian motion prior (model.decoder)
            seen = "it shifts the image around the poke with no regard for the object"
        else:
            seen = "it draws a grey blur, not the image"
        return Banner(f"<b>Untrained checkpoint:</b> this model has random weights, so its videos show no learned "
                      f"motion: {seen}. Open a trained checkpoint to see real dynamics.", _AMBER)
    if warning := weak_response_warning(poker.meta or {}):
        # its own test says so: the user must not think they are poking wrong
        return Banner(f"<b>Weak model:</b> {html.escape(warning)}", _AMBER)
    return None


def hint(has_image: bool, loading: bool, has_model: bool, mode: str) -> str:
    """The hint under the canvas; ``loading`` counts only while no model is loaded yet."""
    if not has_image:
        key = "no image"
    elif loading and not has_model:
        key = "loading"
    elif not has_model:
        key = "no model"
    else:
        key = mode
    return HINTS[key]


def disabled_message(loading: bool) -> str:
    """What the canvas says when the user pokes without a model."""
    return ("The model is still loading: poke as soon as it is ready." if loading
            else "Load a checkpoint first (Model ▸ Open checkpoint…).")


@dataclass(frozen=True)
class StatusFields:
    """The status bar's permanent fields."""

    model: str
    resolution: str
    device: str
    time: str


def status_fields(poker: Poker | None, checkpoint_path: str, last_inference_ms: float | None) -> StatusFields:
    return StatusFields(
        model=f"Model: {Path(checkpoint_path).stem}" if poker is not None else "Model: none",
        resolution=f"{poker.resolution}×{poker.resolution} px" if poker is not None else "",
        device=f"Device: {poker.device}" if poker is not None else "",
        time=f"Last inference: {last_inference_ms:.0f} ms" if last_inference_ms is not None else "")
