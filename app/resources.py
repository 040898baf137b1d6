"""Where the bundled files live: the default checkpoint, the sample images and the icons.

Paths are resolved relative to the repository (or installed package) root, so the app finds
them whatever the working directory. Missing files are normal during development: every
accessor returns ``None`` or an empty list instead of raising.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
CHECKPOINTS = RESOURCES / "checkpoints"
SAMPLES = RESOURCES / "samples"
ICONS = RESOURCES / "icons"
DEFAULT_CHECKPOINT = CHECKPOINTS / "plants64.safetensors"

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm")


def default_checkpoint() -> Path | None:
    """The bundled checkpoint, or ``None`` when it has not been bundled (yet)."""
    return DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None


def bundled_checkpoints() -> list[Path]:
    """Every ``*.safetensors`` checkpoint in ``resources/checkpoints``, default first."""
    found = sorted(CHECKPOINTS.glob("*.safetensors")) if CHECKPOINTS.is_dir() else []
    found.sort(key=lambda p: p != DEFAULT_CHECKPOINT)
    return found


def sample_images() -> list[Path]:
    """The bundled sample images (plants, figures), sorted by name."""
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def icon_path(name: str) -> Path | None:
    """``resources/icons/<name>`` if it exists."""
    p = ICONS / name
    return p if p.is_file() else None
