"""``ipoke bench``'s inference table: variants timed in interleaved rounds, reported as median (min-max)."""
from __future__ import annotations

import re

import pytest

from ipoke_core.benchmark import HEADER, Timing, Variant, bench_inference, interleaved_ms
from ipoke_core.config import load_config

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model


def test_rounds_interleave_the_variants():
    """Each round times every variant once, so a change of load falls on all of them alike."""
    calls: list[str] = []
    timings = interleaved_ms([lambda: calls.append("a"), lambda: calls.append("b")], rounds=3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3  # warm-up of each, then the rounds
    assert [len(t.times_ms) for t in timings] == [3, 3]


def test_timing_is_quoted_as_median_min_max():
    t = Timing((30.0, 12.0, 25.0))
    assert t.median == 25.0 and str(t) == "25 (12-30)"
    assert str(Timing((0.52, 0.61, 0.55))) == "0.55 (0.52-0.61)"


def test_fp32_and_bf16_of_the_same_model_in_one_table():
    cfg = load_config("tiny").model
    rows = bench_inference("tiny", cfg, [Variant("off"), Variant("bf16")], "cpu", batch=3, repeats=2)
    assert [b.variant for b in rows] == ["fp32", "bf16"]
    columns = HEADER.splitlines()[0].count("|")
    for b in rows:
        assert len(b.one_poke.times_ms) == 2 and len(b.batch.times_ms) == 3  # at least 3 rounds of the batch
        assert min(b.one_poke.times_ms) <= b.one_poke.median <= max(b.one_poke.times_ms)
        assert b.row().count("|") == columns
        assert re.search(r"\| \d+(\.\d+)? \(\d+(\.\d+)?-\d+(\.\d+)?\) \|", b.row()), b.row()
    assert rows[0].params_m == pytest.approx(rows[1].params_m) and rows[0].gflops_per_video > 0


@pytest.mark.parametrize("units", [True, False])
def test_precision_bench_compares_fp32_and_bf16_of_trained_weights(monkeypatch, units):
    """`ipoke bench --precision`: both precisions timed on the same pokes, their outputs compared, and
    the table says what `--amp auto` runs on this kind of CPU."""
    from ipoke_core import device as device_mod
    from ipoke_core.benchmark import bench_precision
    from ipoke_core.paths import DEFAULT_CHECKPOINT, SAMPLES

    monkeypatch.setattr(device_mod, "cpu_has_bf16_units", lambda: units)
    b = bench_precision(DEFAULT_CHECKPOINT, SAMPLES / "plant_1.png", "cpu", batch=4, heatmap_n=4, repeats=1)
    assert b.auto_choice == {1: "bf16" if units else "fp32", 4: "bf16" if units else "fp32"}
    assert all(len(t.times_ms) == 3 for pair in (b.batch, b.heatmap) for t in pair)
    assert 0 < b.frame_diff_max <= 255 and 0 <= b.frame_diff_mean < 1.0  # bf16 rounds, but barely
    assert 0 <= b.heatmap_diff_max < 0.05
    table = b.table()
    assert "| 1 poke (batch 1), ms |" in table and "| 4 pokes in one batch, ms |" in table and "x |" in table


def test_full_resolution_bench_times_the_drawing_beside_a_poke(capsys):
    """`ipoke bench --full-resolution SIDE` on the bundled model: one line with both times and their ratio."""
    from ipoke_core.cli import main

    assert main(["bench", "--full-resolution", "96", "--repeats", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "at 96x96" in out and "drawing its 10 frames at 96 px adds" in out and "x the poke)" in out


def test_a_compiled_poker_runs_the_compiled_graph_and_draws_the_same_video():
    """``Poker.compile`` must compile what ``Poker`` calls (``IPoke.animate``): compiling the module
    compiled only ``forward``, so the benchmark's "compiled" rows timed the eager model. The eager
    backend traces the same graph with TorchDynamo without inductor's minutes of C++ compilation."""
    import numpy as np
    import torch
    from torch._dynamo.utils import counters

    from ipoke_core.inference import Poker
    from ipoke_core.model.ipoke import IPoke
    from ipoke_core.poke import Poke

    torch.manual_seed(0)
    model = IPoke(load_config("tiny").model)
    eager = Poker(model, {"trained": False}, "cpu", "off")
    source = np.random.default_rng(0).integers(0, 256, (model.cfg.resolution,) * 2 + (3,), dtype=np.uint8)
    pokes = [[Poke(8.0, 8.0, 2.0, -1.0)]]
    expected = eager.generate(source, pokes)
    torch._dynamo.reset()
    counters.clear()
    try:
        compiled = Poker(model, {"trained": False}, "cpu", "off")
        compiled.compile(backend="eager")
        got = compiled.generate(source, pokes)
        assert counters["stats"]["unique_graphs"] >= 1  # TorchDynamo captured the animation path
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    finally:
        torch._dynamo.reset()  # a failure here must not leave compiled state to the tests after it
