"""The repository's top level holds only what the layout names (DESIGN.md: pyproject.toml, Makefile,
README.md, app, ipoke_core, resources, tests) plus docs/, CHANGELOG.md, LICENSE and dotfiles: research
scripts and result files live under docs/experiments/, not beside the product."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"pyproject.toml", "Makefile", "README.md", "app", "ipoke_core", "resources", "tests", "docs",
           "CHANGELOG.md", "LICENSE"}


def test_only_the_layout_is_at_the_top_level():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    top = {line.split("/")[0] for line in files.splitlines() if line and not line.startswith(".")}
    assert top <= ALLOWED, f"not in the layout: {sorted(top - ALLOWED)} (research files go under docs/experiments/)"
