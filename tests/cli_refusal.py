"""What the hostile-input tests share: run the real CLI in this process and check that it refused."""
from __future__ import annotations

import hashlib
from pathlib import Path

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
