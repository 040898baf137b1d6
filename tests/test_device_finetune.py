"""docs/experiments/device_finetune.py, the team's script for a lent GPU machine: on a machine that lacks a
package training needs, or given a misspelt preset, it stops at once with one line, before generating data
or spending device minutes; a setting prefixed with a preset reaches that preset only (``--dry-run``)."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "experiments" / "device_finetune.py"


def _run(tmp_path: Path, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    env = {"TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, str(SCRIPT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=SCRIPT.parents[2])


def test_a_missing_package_is_named_before_anything_runs(tmp_path):
    # sys.modules[name] = None makes "import name" fail, as on a GPU image without the package
    code = ("import runpy, sys; sys.modules['tomli_w'] = None; "
            f"sys.argv = ['device_finetune.py', '--out', {str(tmp_path / 'out')!r}, '--clips', '10']; "
            f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')")
    proc = _run(tmp_path, code=code)
    assert proc.returncode != 0
    assert "missing Python packages on this machine: tomli_w" in proc.stderr
    assert not (tmp_path / "ipoke_device").exists() and not (tmp_path / "out").exists()


def test_a_setting_prefixed_with_a_preset_reaches_that_preset_only(tmp_path):
    sets = ["train.lr=1e-4", "figures64:data.applied_fraction=0.5", "plants64:train.seed=3", "train.note=a:b"]
    proc = _run(tmp_path, "--out", str(tmp_path / "out"), "--dry-run", *(a for s in sets for a in ("--set", s)))
    assert proc.returncode == 0, proc.stderr
    plants, figures = proc.stdout.splitlines()
    assert "--config plants64" in plants and "--config figures64" in figures
    assert "--init-from" in plants and str(SCRIPT.parents[2] / "resources" / "checkpoints" / "plants64") in plants
    for line in (plants, figures):
        assert "--set train.lr=1e-4" in line and "--set train.note=a:b" in line
    assert "train.seed=3" in plants and "train.seed=3" not in figures
    assert "data.applied_fraction=0.5" in figures and "data.applied_fraction" not in plants
    assert not (tmp_path / "ipoke_device").exists() and not (tmp_path / "out").exists()


def test_a_misspelt_preset_in_a_setting_stops_before_anything_runs(tmp_path):
    proc = _run(tmp_path, "--out", str(tmp_path / "out"), "--set", "figure64:data.applied_fraction=0.5")
    assert proc.returncode != 0
    assert "unknown preset 'figure64'" in proc.stderr
    assert not (tmp_path / "ipoke_device").exists() and not (tmp_path / "out").exists()
