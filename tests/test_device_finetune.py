"""tools/device_finetune.py: on a machine that lacks a package training needs, it stops at once with
one line naming it, before generating data or spending device minutes."""
import subprocess
import sys
from pathlib import Path

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
