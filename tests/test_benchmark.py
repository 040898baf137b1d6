"""``ipoke bench``'s inference table: variants timed in interleaved rounds, reported as median (min-max)."""
from __future__ import annotations

import re

import pytest

from ipoke_core.benchmark import HEADER, Timing, Variant, bench_inference, interleaved_ms
from ipoke_core.config import load_config


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
