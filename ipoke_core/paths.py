"""Where bundled resources live (checkpoints, sample images, configs)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
CHECKPOINTS = RESOURCES / "checkpoints"
SAMPLES = RESOURCES / "samples"
DEFAULT_CHECKPOINT = CHECKPOINTS / "plants64"


def bundled_checkpoints() -> list[Path]:
    """Bundled checkpoints, by stem (``resources/checkpoints/NAME``)."""
    return sorted(p.with_suffix("") for p in CHECKPOINTS.glob("*.safetensors"))
