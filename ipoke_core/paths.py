"""Where bundled resources live (checkpoints, sample images, configs)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
CHECKPOINTS = RESOURCES / "checkpoints"
SAMPLES = RESOURCES / "samples"
DEFAULT_CHECKPOINT = CHECKPOINTS / "plants64"


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(weights, sidecar)`` for a checkpoint given as ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def bundled_checkpoints() -> list[Path]:
    """Bundled checkpoints, by stem (``resources/checkpoints/NAME``)."""
    return sorted(p.with_suffix("") for p in CHECKPOINTS.glob("*.safetensors"))


def sample_of_kind(checkpoint: str | Path | None, samples: list[Path]) -> Path | None:
    """The first of ``samples`` showing the kind of object ``checkpoint`` was trained on.

    Bundled checkpoints are named after their data (``plants64``, ``figures64``) and samples
    after their object (``plant_1.png``, ``figure_1.png``); other names get the first sample.
    """
    name = Path(checkpoint).name.lower() if checkpoint else ""
    kind = "figure" if "figure" in name else "plant"
    return next((p for p in samples if p.name.startswith(kind)), samples[0] if samples else None)
