"""``ipoke info --card``: a checkpoint's Markdown model card, generated from its sidecar, honest where a
field is missing; the committed cards of the bundled checkpoints (docs/model-cards/) are what the command
prints now, so they never drift from the sidecars."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_refusal import base, d, refused  # noqa: F401 - fixtures
from ipoke_core.checkpoint import record_evaluation
from ipoke_core.cli import main
from ipoke_core.model_card import MISSING, model_card
from ipoke_core.paths import CHECKPOINTS

CARDS = Path(__file__).resolve().parents[1] / "docs" / "model-cards"
BUNDLED = sorted(p.stem for p in CHECKPOINTS.glob("*.json"))


def card(capsys, checkpoint: Path | str) -> str:
    capsys.readouterr()
    assert main(["info", str(checkpoint), "--card"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", BUNDLED)
def test_committed_card_is_what_the_command_prints(name, capsys):
    committed = CARDS / f"{name}.md"
    assert committed.is_file(), f"no card for the bundled {name}: ipoke info {CHECKPOINTS / name} --card > {committed}"
    assert card(capsys, CHECKPOINTS / name) == committed.read_text(), (
        f"{committed} is out of date: regenerate it with ipoke info resources/checkpoints/{name} --card > "
        f"docs/model-cards/{name}.md")


def test_every_card_is_of_a_bundled_checkpoint():
    assert sorted(p.stem for p in CARDS.glob("*.md")) == BUNDLED


def test_bundled_card_holds_training_and_the_recorded_evaluation(capsys):
    text = card(capsys, CHECKPOINTS / "plants64")
    meta = json.loads((CHECKPOINTS / "plants64.json").read_text())
    assert text.startswith("# Model card: `plants64`")
    assert meta["training"]["command"] in text and meta["training"]["data_command"] in text
    assert "trained 9350 steps (1000 fine-tuning) on synthetic plants" in text
    # the model it was fine-tuned from (the plants64 bundled 2026-12-07 20:00, docs/training.md), and theirs
    assert "### It started from resources/checkpoints/plants64\n" in text
    assert "#### It started from runs/prev/plants64\n" in text  # the plants64 bundled before 17:10
    assert "##### It started from /work/main/resources/checkpoints/plants64" in text
    assert "###### It started from resources/checkpoints/plants64 (bundled 2026-11-26" in text
    # the parent's mask decision and an older parent's dead zone were set on trained weights: the card says so
    assert "Then derived (the same weights, a setting changed):" in text
    assert "--movable-threshold 0.05" in text and "--motion-deadzone 0.3" in text
    # model, still video, flow warp, simulator (which tracks nothing), true clips
    assert "| poke acc. (px) ↓ | 0.53 | 1.89 | 0.57 | — | 0.79 |" in text
    assert "```toml" in text and f"| {MISSING} |" not in text  # every field of the bundled sidecar is there


def test_untrained_checkpoint_without_evaluation_says_so(d, capsys):
    text = card(capsys, d / "model")
    assert "# Model card: `model`" in text
    assert "NO: random initialisation" in text and "None: the weights are a random initialisation" in text
    assert "Not measured: the sidecar records no evaluation" in text
    assert "| measure |" not in text


def test_recorded_evaluation_becomes_a_table_with_only_the_rows_measured(d, capsys):
    record_evaluation(d / "model", {"date": "2026-12-07", "data": "data/test", "clips": 3, "poke_accuracy_px": 1.5,
                                    "static_poke_accuracy_px": 2.25, "psnr": 30.125, "new_measure": 0.5})
    text = card(capsys, d / "model")
    assert "Tested 2026-12-07 on data/test, 3 clips" in text
    assert "| measure | this model | a still video |" in text  # no flow-warp or ground-truth column: not recorded
    assert "| poke acc. (px) ↓ | 1.50 | 2.25 |" in text and "| PSNR ↑ | 30.12 | — |" in text
    assert "| `new_measure` | 0.5 | — |" in text  # a measure the card does not know is shown, not dropped
    assert "the poked point lands 1.50 px from where it should" in text


def test_hand_edited_sidecar_values_are_shown_as_they_are():
    meta = {"trained": True, "training": {"steps": "many", "command": 3, "init_from": "x", "config": {"a": None}},
            "evaluation": {"psnr": None, "poke_accuracy_px": "far", "clips": float("nan")}, "model": []}
    text = model_card("odd", meta)
    assert "| steps | many |" in text and f"Command:\n\n{MISSING}" in text
    assert "| poke acc. (px) ↓ | far |" in text and "nan (not a finite number) clips" in text
    assert '"a": null' in text  # a config TOML cannot hold is shown as JSON


def test_card_and_json_are_one_or_the_other(d, capsys):
    refused(["info", "model", "--card", "--json"], capsys, "argument --json: not allowed with argument --card")
