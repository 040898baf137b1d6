"""A checkpoint's model card in Markdown, generated from its sidecar (``ipoke info --card``).

Everything comes from the sidecar JSON: what the model is, what it was trained on and how (the
command, the config, the steps, the run it started from), and its recorded evaluation
(``ipoke eval --baselines --record``) as a table beside the baselines. A field the sidecar does not
hold is said to be "not recorded", never guessed. The cards of the bundled checkpoints in
``docs/model-cards/`` are this output, checked by a test so they never drift from the sidecars.
"""
from __future__ import annotations

import math
from typing import Any

from ipoke_core.quality import evaluation_lines, trained_on, training_line, weak_response_warning

MISSING = "not recorded"
UNTRAINED = "NO: random initialisation, for testing the pipeline only"

# the columns of the evaluation table: the model row, then the reference rows ``ipoke eval`` records
REFERENCES = (("", "this model"), ("static_", "a still video"), ("flow_warp_", "flow-warp baseline"),
              ("simulator_", "simulator (true dynamics)"), ("ground_truth_", "true clips"))
EVALUATION_INFO = ("date", "data", "clips")


def _section(meta: dict[str, Any], key: str) -> dict[str, Any]:
    value = meta.get(key)
    return value if isinstance(value, dict) else {}


def _value(value: Any) -> str:
    """A sidecar value as Markdown table text (``|`` escaped; non-finite numbers said so)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):  # as the sidecar and the config write it
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else f"{value} (not a finite number)"
    return str(value).replace("|", "\\|")


def _table(rows: list[tuple[str, Any]]) -> list[str]:
    return ["| | |", "|---|---|", *(f"| {key} | {_value(value)} |" for key, value in rows)]


def _code(command: Any) -> list[str]:
    return ["```bash", str(command), "```"] if isinstance(command, str) and command else [MISSING]


def _what_it_is(meta: dict[str, Any], n_parameters: int | None) -> list[str]:
    created = meta.get("created")
    revision = meta.get("git_revision")
    sha = meta.get("weights_sha256")
    rows = [
        ("format", f"{_value(meta.get('format'))}, version {_value(meta.get('format_version'))} "
                   f"(architecture {_value(meta.get('architecture'))})"),
        ("created", f"{_value(created)}" + (f", git revision `{revision}`" if revision else "")),
        ("weights SHA-256", f"`{sha}` (verified on loading)" if sha else f"{MISSING}: the weights cannot be verified"),
        ("parameters", f"{n_parameters:,}" if n_parameters is not None else meta.get("n_parameters")),
        ("trained", training_line(meta) if meta.get("trained") else UNTRAINED),
    ]
    model = _section(meta, "model")
    lines = ["## What it is", "", *_table(rows), "", "Model config (`[model]`):", ""]
    lines += _table([(f"`{k}`", model[k]) for k in sorted(model)]) if model else [MISSING]
    return lines


def _run(training: dict[str, Any], level: int, notes: list[str] = ()) -> list[str]:
    """One training run: steps, where it ran (then ``notes``), its command and resumptions, and the run it
    started from (one heading level deeper)."""
    def minutes(seconds: Any) -> Any:
        return f"{seconds / 60:.0f} min" if isinstance(seconds, (int, float)) and math.isfinite(seconds) else None

    rows = [("steps", training.get("steps")), ("planned steps", training.get("total_steps")),
            ("schedule", training.get("schedule")), ("wall time", minutes(training.get("wall_time_s"))),
            ("device", training.get("device")), ("processes", training.get("world_size")),
            ("perceptual loss", training.get("perceptual_loss")),
            ("training data made with", f"`{training['data_command']}`" if training.get("data_command") else None),
            ("data folder", training.get("data_dir")), ("data seed", training.get("data_seed"))]
    lines = [*_table([(k, v) for k, v in rows if level == 0 or v is not None]), *notes, "", "Command:", "",
             *_code(training.get("command"))]
    resumed = training.get("resumed_with")
    if isinstance(resumed, list) and resumed:
        lines += ["", "Resumed with:", ""] + [f"- `{c}`" for c in resumed]
    derived = training.get("derived")  # a parent's setting changed on its trained weights before the fine-tune
    if level > 0 and isinstance(derived, dict) and derived.get("command"):
        lines += ["", "Then derived (the same weights, a setting changed):", "", *_code(derived["command"])]
    start = training.get("init_from")
    if isinstance(start, dict):
        lines += ["", f"{'#' * (3 + min(level, 3))} It started from {_value(start.get('checkpoint'))}", "",
                  *_run(start, level + 1)]
    return lines


def _training(meta: dict[str, Any]) -> list[str]:
    training = _section(meta, "training")
    if not meta.get("trained"):
        note = training.get("note")
        return ["## Training", "", "None: the weights are a random initialisation"
                + (f" (the sidecar's note: {_value(note)})" if note else "") + "."]
    if not training:
        return ["## Training", "", f"{MISSING}: the sidecar has no training section."]
    lengths = _section(meta, "data_stats").get("poke_magnitude_px")
    notes = ["", "Poke lengths seen in training (model px): "
             + (f"{lengths[0]:g} to {lengths[1]:g}" if isinstance(lengths, list) and len(lengths) == 2 else MISSING)]
    validation = training.get("validation")
    if isinstance(validation, dict) and validation:
        notes += ["", f"Validation at the end of training ({_value(training.get('validation_metric'))}):", "",
                  *_table([(f"`{k}`", round(v, 4) if isinstance(v, float) else v) for k, v in sorted(validation.items())])]
    lines = ["## Training", "", f"On: {_value(trained_on(meta))}.", "", *_run(training, 0, notes)]
    config = training.get("config")
    lines += ["", "Config:", ""]
    lines += ["```toml", _toml(config).rstrip(), "```"] if isinstance(config, dict) and config else [MISSING]
    return lines


def _toml(config: dict[str, Any]) -> str:
    import tomli_w

    try:
        return tomli_w.dumps(config)
    except (TypeError, ValueError):  # a hand-edited sidecar may hold what TOML cannot (None): show it as JSON
        import json

        return json.dumps(config, indent=2, sort_keys=True)


def _derived(meta: dict[str, Any]) -> list[str]:
    derived = _section(meta, "derived")
    if not derived:
        return []
    return ["## Derived", "", "The same weights as another checkpoint with another setting; the training record above "
            "is the original's.", "", *_code(derived.get("command"))]


def _evaluation(meta: dict[str, Any]) -> list[str]:
    from ipoke_core.evaluate import COLUMNS  # the eval table's headers and formats: the card reads like it

    ev = _section(meta, "evaluation")
    lines = ["## Measured quality", ""]
    if not ev:
        return lines + ["Not measured: the sidecar records no evaluation. `ipoke eval -c CHECKPOINT -d TEST_SET "
                        "--baselines --record` measures it and records it in the sidecar."]
    lines += [f"Tested {_value(ev.get('date'))} on {_value(ev.get('data'))}, {_value(ev.get('clips'))} clips "
              "(`ipoke eval --baselines --record`).", ""]
    known = {key for key, _, _ in COLUMNS}
    other = sorted({_measure(k) for k in ev if k not in EVALUATION_INFO} - known)  # shown too, under their keys
    measures = [(key, header, fmt) for key, header, fmt in COLUMNS] + [(key, f"`{key}`", "{:g}") for key in other]
    columns = [(prefix, name) for prefix, name in REFERENCES
               if any(prefix + key in ev for key, _, _ in measures)]
    table = ["| measure | " + " | ".join(name for _, name in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for key, header, fmt in measures:
        cells = [ev.get(prefix + key) for prefix, _ in columns]
        if all(cell is None for cell in cells):
            continue
        table.append(f"| {header} | " + " | ".join(_number(cell, fmt) for cell in cells) + " |")
    lines += table if len(table) > 2 else [f"{MISSING}: the evaluation holds no measure."]
    words = evaluation_lines(meta)
    if words:
        lines += ["", "In words: " + words[0] + ":", ""] + [f"- {line}" for line in words[1:]]
    warning = weak_response_warning(meta)
    if warning:
        lines += ["", f"**Warning.** {warning}"]
    return lines


def _measure(key: str) -> str:
    """``static_psnr`` -> ``psnr``: the measure of a recorded key, without its reference row's prefix."""
    prefix = next((p for p, _ in REFERENCES if p and key.startswith(p)), "")
    return key.removeprefix(prefix)


def _number(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _value(value)
    return fmt.format(value) if math.isfinite(value) else f"{value}"


def model_card(name: str, meta: dict[str, Any], n_parameters: int | None = None) -> str:
    """The Markdown model card of checkpoint ``name`` from its sidecar ``meta``; ``n_parameters`` is
    the loaded model's count (else the sidecar's)."""
    lines = [f"# Model card: `{name}`", "",
             f"Generated by `ipoke info CHECKPOINT --card` from `{name}.json`, the checkpoint's sidecar; "
             "do not edit by hand. Fields the sidecar does not hold say \"not recorded\".", "",
             *_what_it_is(meta, n_parameters), "", *_training(meta), ""]
    derived = _derived(meta)
    if derived:
        lines += [*derived, ""]
    lines += _evaluation(meta)
    return "\n".join(lines).rstrip() + "\n"
