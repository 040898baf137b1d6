"""docs/experiments/truth_references.py, the team's model-free references for the truth columns: its blob
at flow warping's falloff must score what `ipoke eval` gives the flow-warping row, on the same clips."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from ipoke_core.analysis.true_dynamics import Simulator
from ipoke_core.config import ModelConfig
from ipoke_core.evaluate import evaluate, flow_warp_method
from ipoke_core.evaluation.clips import load_eval_clips
from ipoke_core.evaluation.plan import EvalSettings

from test_train_loop import data_dir  # noqa: F401

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "experiments" / "truth_references.py"


def _script():
    spec = importlib.util.spec_from_file_location("truth_references", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_flow_warping_blob_reference_scores_what_eval_gives_flow_warping(data_dir):  # noqa: F811
    refs = _script()
    cases = refs.simulator_cases(data_dir, 32, 4, clips=3)
    assert cases
    scores = refs.reference_scores(cases, 32 / 64)
    cfg = ModelConfig(resolution=32, seq_len=4)
    clips, _ = load_eval_clips(data_dir, cfg, 100, 0)
    report = evaluate([flow_warp_method(4)], clips, EvalSettings(structure_clips=3),
                      simulator=Simulator.from_dataset(data_dir, 32, 4))
    expected = report.value("flow warping (Hao-style)", "truth_corr")
    assert expected is not None and math.isclose(scores["blob 8 px"], expected, abs_tol=1e-6)
    assert scores["cone, best r per clip"] >= max(v for k, v in scores.items() if k.startswith("cone ") and "best" not in k) - 1e-9
