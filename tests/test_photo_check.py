"""tools/photo_check.py: the real-photo check of the README, run on a bundled sample with the bundled model."""
import subprocess
import sys
from pathlib import Path

import cv2

from ipoke_core.paths import CHECKPOINTS, SAMPLES

ROOT = Path(__file__).resolve().parents[1]


def test_photo_check_measures_the_poke_and_writes_its_figure(tmp_path):
    out = tmp_path / "check.png"
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "photo_check.py"), "--image", str(SAMPLES / "plant_1.png"),
         "--checkpoint", str(CHECKPOINTS / "plants64"), "--poke", "0.40,0.32,5,-2", "--poke", "0.45,0.60,-3,0",
         "--background", "0.05,0.05", "--heatmap-n", "4", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if "the poked point ends" in line]
    assert len(lines) == 2
    # the bundled model moves a leaf's poked point: it ends nearer its target than a still video would
    err, still = _two_numbers(lines[0])
    assert err < still
    assert "background poke" in run.stdout
    figure = cv2.imread(str(out))
    assert figure is not None and figure.shape[0] >= 2 * 64 * 4  # one row per poke, 4x tiles


def _two_numbers(line: str) -> tuple[float, float]:
    err = float(line.split("ends ")[1].split(" px")[0])
    still = float(line.split("a still video: ")[1].split(" px")[0])
    return err, still
