"""tools/device_finetune.py: on a machine that lacks a package training needs, it stops at once with
one line naming it, before generating data or spending device minutes."""
import subprocess
import sys
from pathlib import Path

from tool_loader import load_tool

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_package_is_named_before_anything_runs(tmp_path):
    # sys.modules[name] = None makes "import name" fail, as on a GPU image without the package
    code = ("import runpy, sys; sys.modules['tomli_w'] = None; "
            f"sys.argv = ['device_finetune.py', '--out', {str(tmp_path / 'out')!r}, '--clips', '10']; "
            f"runpy.run_path({str(ROOT / 'tools' / 'device_finetune.py')!r}, run_name='__main__')")
    env = {"TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert "missing Python packages on this machine: tomli_w" in proc.stderr
    assert not (tmp_path / "ipoke_device").exists() and not (tmp_path / "out").exists()


def test_a_setting_prefixed_with_a_preset_reaches_that_preset_only():
    script = load_tool("device_finetune")
    sets = ["train.lr=1e-4", "figures64:data.applied_fraction=0.5", "plants64:train.seed=3", "train.note=a:b"]
    assert script.settings_for("figures64", sets) == ["train.lr=1e-4", "data.applied_fraction=0.5", "train.note=a:b"]
    assert script.settings_for("plants64", sets) == ["train.lr=1e-4", "train.seed=3", "train.note=a:b"]


def test_a_misspelt_preset_in_a_setting_stops_before_anything_runs(tmp_path):
    env = {"TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, str(ROOT / "tools" / "device_finetune.py"), "--out", str(tmp_path / "out"),
           "--set", "figure64:data.applied_fraction=0.5"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert "unknown preset 'figure64'" in proc.stderr
    assert not (tmp_path / "ipoke_device").exists() and not (tmp_path / "out").exists()
