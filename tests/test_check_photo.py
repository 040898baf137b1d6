"""``ipoke check-photo``: the real-photo check of docs/bundled-models.md, run on a bundled sample with the
bundled model; a bad value is refused with one line before the model runs."""
from pathlib import Path

import cv2
import pytest

from cli_refusal import base, d, refused  # noqa: F401 - fixtures
from ipoke_core.cli import main
from ipoke_core.paths import CHECKPOINTS, SAMPLES


def test_check_photo_measures_the_poke_and_writes_its_figure(tmp_path, capsys):
    out = tmp_path / "check.png"
    assert main(["check-photo", "--image", str(SAMPLES / "plant_1.png"), "-c", str(CHECKPOINTS / "plants64"),
                 "--device", "cpu", "--poke", "0.40,0.32,5,-2", "--poke", "0.45,0.60,-3,0",
                 "--background", "0.05,0.05", "--heatmap-n", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if "the poked point ends" in line]
    assert len(lines) == 2
    # the bundled model moves a leaf's poked point: it ends nearer its target than a still video would
    err, still = _two_numbers(lines[0])
    assert err < still
    assert "background poke" in printed and f"wrote {out}" in printed
    figure = cv2.imread(str(out))
    assert figure is not None and figure.shape[0] >= 3 * 64 * 4  # a row per poke and the background's, 4x tiles


def _two_numbers(line: str) -> tuple[float, float]:
    err = float(line.split("ends ")[1].split(" px")[0])
    still = float(line.split("a still video: ")[1].split(" px")[0])
    return err, still


@pytest.mark.parametrize("extra, message", [
    (["--poke", "0.5,0.5,4"], "--poke '0.5,0.5,4': expected 4 comma-separated numbers"),
    (["--poke", "0.5,nan,4,0"], "expected 4 comma-separated numbers"),
    (["--poke", "1.5,0.5,4,0"], "x and y are fractions of the model's square, between 0 and 1"),
    (["--poke", "0.5,0.5,0,0"], "--poke 0.5,0.5,0,0: poke has zero length"),
    (["--poke", "0.5,0.5,4,0", "--background", "0.1"], "--background '0.1': expected 2 comma-separated numbers"),
    (["--poke", "0.5,0.5,4,0", "--heatmap-n", "1"], "--heatmap-n: must be between 2 and 1024"),
])
def test_bad_pokes_are_refused_with_one_line(d, capsys, extra, message):
    refused(["check-photo", "-c", "model", "--image", "img.png", "--out", "check.png", *extra], capsys, message,
            unchanged=Path.cwd())


def test_the_figure_must_be_a_new_png(d, capsys):
    poke = ["check-photo", "-c", "model", "--image", "img.png", "--poke", "0.5,0.5,4,0"]
    refused([*poke, "--out", "check.jpg"], capsys, "the figure is a PNG", unchanged=Path.cwd())
    refused([*poke, "--out", "img.png", "--overwrite"], capsys, "img.png", unchanged=Path.cwd())
    (d / "check.png").write_bytes(b"kept")
    refused([*poke, "--out", "check.png"], capsys, "check.png", unchanged=Path.cwd())
