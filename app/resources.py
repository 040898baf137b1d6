"""Where the bundled files live: the default checkpoint, the sample images and the icons.

The locations are ``ipoke_core.paths``'s (resolved relative to the repository or installed
package root, so the app finds them whatever the working directory); only the icons are the
app's own. Missing files are normal during development: every accessor returns ``None`` or an
empty list instead of raising.
"""
from __future__ import annotations

from pathlib import Path

from ipoke_core import paths
from ipoke_core.data.video import IMAGE_EXTENSIONS
from ipoke_core.paths import CHECKPOINTS, RESOURCES, ROOT, SAMPLES

__all__ = ["CHECKPOINTS", "DEFAULT_CHECKPOINT", "ICONS", "IMAGE_SUFFIXES", "RESOURCES", "ROOT", "SAMPLES",
           "bundled_checkpoints", "checkpoint_for_sample", "default_checkpoint", "icon_path", "is_bundled_checkpoint",
           "sample_for", "sample_images"]

ICONS = RESOURCES / "icons"


# the weights file, which is what the app opens, remembers and checks with ``is_file``
DEFAULT_CHECKPOINT = paths.checkpoint_paths(paths.DEFAULT_CHECKPOINT)[0]

# the frame-image formats ipoke_core reads, plus those PIL (``load_image``) opens as single images
IMAGE_SUFFIXES = IMAGE_EXTENSIONS + (".gif", ".ppm", ".pgm")


def default_checkpoint() -> Path | None:
    """The bundled checkpoint, or ``None`` when it has not been bundled (yet)."""
    return DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None


def bundled_checkpoints() -> list[Path]:
    """Every ``*.safetensors`` checkpoint in ``resources/checkpoints``, default first."""
    found = sorted(paths.checkpoint_paths(name)[0] for name in paths.bundled_checkpoints())
    found.sort(key=lambda p: p != DEFAULT_CHECKPOINT)
    return found


def sample_images() -> list[Path]:
    """The bundled sample images (plants, figures), sorted by name."""
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def sample_for(checkpoint: str | Path | None) -> Path | None:
    """The first bundled sample of the kind of object ``checkpoint`` was trained on (``paths.sample_of_kind``)."""
    return paths.sample_of_kind(checkpoint, sample_images())


def checkpoint_for_sample(sample: str | Path) -> Path | None:
    """The bundled checkpoint (its weights file) made for a bundled sample's kind of object
    (``figure_2.png`` -> ``figures64.safetensors``); None for other images or when none is bundled."""
    sample = Path(sample)
    if sample.parent.resolve() != SAMPLES.resolve():
        return None
    kind = next((k for k in ("plant", "figure") if sample.name.startswith(k)), None)
    if kind is None:
        return None
    return next((c for c in bundled_checkpoints() if c.name.startswith(kind)), None)


def is_bundled_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` (with or without suffix) is one of the checkpoints in ``resources/checkpoints``."""
    if not path:
        return False
    weights = paths.checkpoint_paths(path)[0]
    return weights.parent.resolve() == CHECKPOINTS.resolve() and weights.is_file()


def icon_path(name: str) -> Path | None:
    """``resources/icons/<name>`` if it exists."""
    p = ICONS / name
    return p if p.is_file() else None
