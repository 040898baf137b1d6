"""``ipoke ablate``: trains the chosen rows of the ablation table with the same data and steps, scores them
in one ``ipoke eval --baselines`` table, keeps finished rows on a rerun, and refuses a bad plan with one
line before any minute is spent. (Each row's switch itself is tested in test_ablations.py.)"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from cli_refusal import refused
from ipoke_core.ablation_table import parse_rows, slug
from ipoke_core.ablations import ABLATIONS
from ipoke_core.cli import main

ROWS = "no latent loss,default (seed 0)"  # out of the table's order on purpose


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from ipoke_core.data.synthetic.generate import generate_dataset

    root = tmp_path_factory.mktemp("plants32")
    generate_dataset(root, "plant", n=12, size=32, frames=8, seed=0, workers=1, flow_spans=(4,))
    return root


def ablate(data: Path, out: Path, work: Path, *extra: str) -> int:
    return main(["ablate", "--out", str(out), "--preset", "tiny", "--data", str(data), "--test", str(data),
                 "--rows", ROWS, "--steps", "4", "--n-eval", "2", "--structure-clips", "0", "--device", "cpu",
                 "--jobs", "2", "--threads", "1", "--work", str(work), "--set", "train.batch_size=2", *extra])


def test_ablate_trains_the_rows_and_writes_one_table(data, tmp_path, capsys):
    out, work = tmp_path / "out", tmp_path / "work"
    assert ablate(data, out, work) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'ablation.md'}" in printed
    table = (out / "ablation.md").read_text()
    assert table.startswith("first row (iPoke (last)): default (seed 0); every row 4 iterations of tiny")
    assert "| iPoke (last) |" in table and "| no latent loss |" in table and "| static (source repeated) |" in table
    for name in ("default (seed 0)", "no latent loss"):
        training = json.loads((out / f"{slug(name)}.json").read_text())["training"]
        assert training["steps"] == training["total_steps"] == 4
        assert all(f"--set {s}" in training["command"] for s in ABLATIONS[name])
    with tarfile.open(out / "ablation.tar.gz") as tar:
        assert f"{slug('no latent loss')}/checkpoints/last.safetensors" in tar.getnames()

    # a rerun keeps the rows that hold their full step budget
    assert ablate(data, tmp_path / "again", work, "--train-only") == 0
    printed = capsys.readouterr().out
    assert "default (seed 0): trained already, kept" in printed and "no latent loss: trained already, kept" in printed
    assert not (tmp_path / "again" / "ablation.md").exists()


def test_rows_keep_the_table_order():
    assert parse_rows(ROWS) == ["default (seed 0)", "no latent loss"]
    assert parse_rows("") == list(ABLATIONS)


@pytest.mark.parametrize("extra, message", [
    (["--rows", "default (seed 0),no such row"], "--rows: unknown row 'no such row'; the rows are: default (seed 0)"),
    (["--set", "train.no_such_key=1"], "row 'default (seed 0)': --set train.no_such_key: unknown key"),
    (["--data", "."], "--data .: not a data set (no dataset.json"),
    (["--preset", "tiny"], "--preset tiny: no synthetic kind to generate its data from; give --data and --test"),
    (["--preset", "no_such_preset"], "config no_such_preset not found"),
    (["--steps", "0"], "--steps: must be at least 1"),
])
def test_a_bad_plan_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    refused(["ablate", "--out", "out", "--work", "work", *extra], capsys, message, unchanged=tmp_path)
    assert not (tmp_path / "out").exists() and not (tmp_path / "work").exists()


def test_out_must_be_a_folder(tmp_path, capsys, monkeypatch, data):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").write_text("a file")
    refused(["ablate", "--out", "out", "--work", "work", "--data", str(data), "--test", str(data)], capsys,
            "--out out is a file; give a folder", unchanged=tmp_path)
