"""Checkpoints: weights in safetensors plus a JSON sidecar; loading never unpickles.

A checkpoint ``NAME`` is two files, ``NAME.safetensors`` (tensors only) and ``NAME.json``::

    {"format": "ipoke-checkpoint", "format_version": 1, "architecture": "ipoke",
     "model": {ModelConfig fields}, "trained": true|false, "training": {...summary...},
     "data_stats": {"poke_magnitude_px": [lo, hi]}, "git_revision": "...", "created": "..."}

Both files are written to temporary files and renamed into place only once both are complete, so that
a reader finds the complete old pair or the complete new one (see ``save_checkpoint``); the JSON records
the SHA-256 of the weights so a truncated or swapped weight file is detected on load.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ipoke_core import json_text
from ipoke_core.config import ConfigError, model_config_from_dict
from ipoke_core.errors import UserError
from ipoke_core.io_utils import OutputError, atomic_write_text, finish_temp, replace_file, temp_file_for
from ipoke_core.paths import checkpoint_paths
from ipoke_core.model import IPoke

FORMAT = "ipoke-checkpoint"
FORMAT_VERSION = 1
ARCHITECTURE = "ipoke"
# model fields every sidecar has had since format 1: without one the default would be used silently
# and a different network built (later fields, e.g. ``decoder``, default to what older files meant)
REQUIRED_MODEL_KEYS = ("resolution", "channels", "bottleneck", "depth", "seq_len", "dynamics", "poke_mode",
                       "poke_radius", "poke_scale")
# sidecar entries the program reads as objects
OBJECT_KEYS = ("training", "data_stats", "evaluation", "derived")


class CheckpointError(UserError, ValueError):
    """A checkpoint is missing, corrupt, or of another architecture or format version."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def previous_weights(weights: Path) -> Path:
    """``NAME.safetensors.prev``: the old weights, kept while a new pair replaces an old one (not a
    ``.safetensors`` name, so nothing lists it as a checkpoint)."""
    return weights.with_name(weights.name + ".prev")


def save_checkpoint(path: str | Path, model: IPoke, meta: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and ``meta`` as a checkpoint; returns the weights path.

    The two files are replaced so that a reader always finds a complete old pair or a complete new
    one, whenever the process is killed and whichever rename the file system refuses:

    1. both new files are written in full to temporary files beside the old ones and fsynced (a full
       disk stops here, with the old pair untouched);
    2. the old weights are kept as ``NAME.safetensors.prev`` (a hard link, so no copy);
    3. the new weights are renamed into place, then the new sidecar;
    4. ``NAME.safetensors.prev`` is removed.

    Between the two renames of step 3 the sidecar is still the old one: the loader then finds the
    weights that match its checksum in ``NAME.safetensors.prev`` and loads the old pair. A refused
    rename of the weights (an immutable or read-only file) leaves the old pair as it was; a refused
    rename of the sidecar puts the old weights back. Either way: one ``OutputError`` line.
    """
    weights, sidecar = checkpoint_paths(path)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with temp_file_for(weights) as weights_tmp:
        save_file(state, str(weights_tmp), metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
        finish_temp(weights_tmp)
        doc = dict(meta or {})
        doc.update({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "architecture": ARCHITECTURE,
            "model": dataclasses.asdict(model.cfg),
            "weights_sha256": _sha256(weights_tmp),
            "n_parameters": sum(v.numel() for v in state.values()),
        })
        doc.setdefault("trained", False)
        doc.setdefault("training", {})
        doc.setdefault("data_stats", {})
        doc.setdefault("git_revision", git_revision())
        doc.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        with temp_file_for(sidecar) as sidecar_tmp:
            sidecar_tmp.write_text(json.dumps(doc, indent=2, sort_keys=True))
            finish_temp(sidecar_tmp)
            _replace_pair(weights_tmp, sidecar_tmp, weights, sidecar)
    return weights


def _replace_pair(weights_tmp: Path, sidecar_tmp: Path, weights: Path, sidecar: Path) -> None:
    """Steps 2 to 4 of :func:`save_checkpoint`."""
    prev = previous_weights(weights)
    kept = False
    # a .prev left by a save cut between its renames is, with the sidecar, the complete old pair: keep it
    if weights.is_file() and sidecar.is_file() and not (prev.exists() and not _pair_matches(weights, sidecar)):
        _keep_aside(weights, prev)
        kept = True
    try:
        replace_file(weights_tmp, weights)
    except OutputError:
        if kept:
            prev.unlink(missing_ok=True)
        raise
    try:
        replace_file(sidecar_tmp, sidecar)
    except OutputError:
        if prev.is_file():  # the old weights back beside the old sidecar (if this fails too, the loader uses .prev)
            with contextlib.suppress(OSError):
                os.replace(prev, weights)
        raise
    prev.unlink(missing_ok=True)


def _keep_aside(weights: Path, prev: Path) -> None:
    """Make ``prev`` a copy of ``weights`` that survives their replacement: a hard link, else a real copy."""
    with temp_file_for(prev) as tmp:
        tmp.unlink()
        try:
            os.link(weights, tmp)
        except OSError:  # no hard links here (some file systems), or an immutable file
            shutil.copyfile(weights, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        replace_file(tmp, prev)


def _pair_matches(weights: Path, sidecar: Path) -> bool:
    """Whether the sidecar's recorded checksum is that of ``weights``."""
    try:
        expected = json_text.parse(sidecar.read_text()).get("weights_sha256")
        return bool(expected) and _sha256(weights) == expected
    except (OSError, ValueError, AttributeError):  # JsonError is a ValueError
        return False


def record_evaluation(path: str | Path, evaluation: dict[str, Any]) -> Path:
    """Store measured quality (``ipoke eval --record``) in the checkpoint's sidecar, key ``evaluation``.

    The weights are untouched, so their checksum stays valid; the sidecar is rewritten atomically.
    """
    _, sidecar = checkpoint_paths(path)
    meta = read_meta(path)
    meta["evaluation"] = evaluation
    # strict JSON: a measurement that came out NaN is recorded as null (not measured), never as NaN
    atomic_write_text(sidecar, json_text.dumps(meta, indent=2, sort_keys=True))
    return sidecar


def read_meta(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint's sidecar without touching the weights."""
    weights, sidecar = checkpoint_paths(path)
    if not weights.exists() and not sidecar.exists():
        raise CheckpointError(f"checkpoint {Path(path)} not found (expected {weights.name} and {sidecar.name})")
    if not sidecar.exists():
        raise CheckpointError(f"checkpoint sidecar {sidecar} is missing (it holds the model config)")
    if not weights.exists():
        raise CheckpointError(f"checkpoint weights {weights} are missing")
    for part in (sidecar, weights):
        if not part.is_file():  # a folder, or a FIFO that would block the read
            raise CheckpointError(f"{part} is {'a folder' if part.is_dir() else 'not a regular file'}, "
                                  "not a checkpoint file")
    try:
        meta = json_text.parse(sidecar.read_text())
    except json_text.JsonError as e:  # nested 200,000 deep or a 5,000-digit number too
        raise CheckpointError(f"{sidecar} is {e}; the file is corrupt") from None
    except UnicodeDecodeError as e:
        raise CheckpointError(f"{sidecar} is not valid JSON ({e}); the file is corrupt") from None
    except OSError as e:
        raise CheckpointError(f"cannot read {sidecar}: {e.strerror or e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{sidecar} is not an iPoke checkpoint (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("architecture") != ARCHITECTURE:
        raise CheckpointError(f"{sidecar}: architecture {meta.get('architecture')!r}, this program runs {ARCHITECTURE!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{sidecar}: checkpoint format version {meta.get('format_version')!r}, this program reads version {FORMAT_VERSION}"
        )
    model = meta.get("model")
    if not isinstance(model, dict):
        raise CheckpointError(f"{sidecar}: invalid model config: 'model' must be an object, got {type(model).__name__}")
    missing = [k for k in REQUIRED_MODEL_KEYS if k not in model]
    if missing:
        raise CheckpointError(f"{sidecar}: invalid model config: missing {', '.join(missing)}")
    for key in OBJECT_KEYS:
        if key in meta and not isinstance(meta[key], dict):
            raise CheckpointError(f"{sidecar}: '{key}' must be an object, got {type(meta[key]).__name__}")
    lo_hi = meta.get("data_stats", {}).get("poke_magnitude_px")
    if lo_hi is not None and not (isinstance(lo_hi, list) and len(lo_hi) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in lo_hi)):
        raise CheckpointError(f"{sidecar}: data_stats.poke_magnitude_px must be two numbers, got {lo_hi!r}")
    if not isinstance(meta.get("trained", False), bool):
        raise CheckpointError(f"{sidecar}: 'trained' must be true or false, got {meta['trained']!r}")
    return meta


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu",
                    allow_unverified: bool = False) -> tuple[IPoke, dict[str, Any]]:
    """Load a checkpoint: ``(model in eval mode on device, meta)``.

    ``allow_unverified`` loads a sidecar that records no ``weights_sha256`` (hand-made or from another
    tool); by default that is refused, since nothing then tells tampered or damaged weights apart.

    Raises:
        CheckpointError: missing files, corrupt JSON or weights, checksum mismatch or missing checksum,
            NaN or inf weights, or weights that do not fit the architecture the sidecar describes (the
            message names the tensors).
    """
    weights, sidecar = checkpoint_paths(path)
    meta = read_meta(path)
    try:
        cfg = model_config_from_dict(meta["model"])
    except (ConfigError, KeyError, TypeError) as e:
        raise CheckpointError(f"{sidecar}: invalid model config: {e}") from None
    expected = meta.get("weights_sha256")
    if not expected and not allow_unverified:
        raise CheckpointError(f"{sidecar} records no weights checksum (weights_sha256), so {weights.name} cannot be "
                              "verified; save it again with ipoke, or pass --allow-unverified to load it unchecked")
    if expected and _sha256(weights) != expected:
        prev = previous_weights(weights)
        if not (prev.is_file() and _sha256(prev) == expected):
            raise CheckpointError(f"{weights} does not match its sidecar (checksum differs): truncated, corrupt or swapped")
        weights = prev  # a save was cut between its two renames: the sidecar and these are the complete old pair
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights} is not a readable safetensors file: {e}") from None
    model = IPoke(cfg)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {missing[0]})")
        if extra:
            parts.append(f"{len(extra)} unexpected tensors (e.g. {extra[0]})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} tensors of another shape (e.g. {k}: file {tuple(state[k].shape)}, model {tuple(own[k].shape)})")
        raise CheckpointError(f"{weights} does not fit the architecture in its sidecar: " + "; ".join(parts))
    # a diverged run can save NaN weights with a valid checksum: they make black or noise videos, never an error
    broken = sorted(k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all()))
    if broken:
        raise CheckpointError(f"{weights} contains NaN or inf values in {len(broken)} tensor(s) (e.g. {broken[0]}): "
                              "the training diverged or the file is damaged; use an earlier checkpoint")
    model.load_state_dict(state)
    model.to(device).eval()
    return model, meta
