"""What the hostile-input tests share: run the real CLI in this process and check that it refused."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipoke_core.cli import main


def snapshot(root: Path) -> dict[Path, str]:
    """Every file under ``root`` with the SHA-256 of its bytes."""
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(argv: list, capsys, message: str, unchanged: Path | None = None) -> str:
    """Run ``argv``: it must exit 2 with one error line holding ``message`` (no traceback); with
    ``unchanged``, every file under that folder must be byte-identical afterwards. Returns the line."""
    before = snapshot(unchanged) if unchanged is not None else None
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:") and "%|" not in line]
    assert rc == 2, err
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err, err
    if unchanged is not None:
        assert snapshot(unchanged) == before
    return lines[0]


def refused_here(argv: list, capsys, message: str) -> str:
    """:func:`refused`, with no file under the current folder changed."""
    return refused(argv, capsys, message, unchanged=Path.cwd())


def untrained_checkpoint_and_image(folder: Path, *init_args: str) -> Path:
    """``folder/model`` (``ipoke init-checkpoint`` with ``init_args``) and a 64x48 noise image ``folder/img.png``."""
    assert main(["init-checkpoint", "--out", str(folder / "model"), *init_args]) == 0
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(folder / "img.png")
    return folder


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny untrained checkpoint and an image, made once per test module."""
    return untrained_checkpoint_and_image(tmp_path_factory.mktemp("base"), "--config", "tiny")


@pytest.fixture
def d(base, tmp_path, monkeypatch):
    """A fresh folder holding the tiny checkpoint (``model``) and ``img.png``, the current folder."""
    for name in ("model.safetensors", "model.json", "img.png"):
        shutil.copy(base / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
