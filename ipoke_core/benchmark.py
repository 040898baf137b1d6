"""Inference benchmarks: latency of one poke and of a 64-poke batch, parameters, GFLOPs.

Numbers are median (min-max) over interleaved rounds after warm-up; CUDA timings synchronise the device.
"""
from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ipoke_core.config import ModelConfig
from ipoke_core.inference import Poker
from ipoke_core.model import IPoke
from ipoke_core.poke import Poke


@dataclass(frozen=True)
class Timing:
    """Wall times of one operation over interleaved rounds, in ms."""

    times_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    def __str__(self) -> str:
        """``median (min-max)``, the way the README quotes timings."""
        d = 0 if self.median >= 10 else 1 if self.median >= 1 else 2  # the same digits for all three
        return f"{self.median:.{d}f} ({min(self.times_ms):.{d}f}-{max(self.times_ms):.{d}f})"


@dataclass(frozen=True)
class Variant:
    """How one model is run: its autocast setting (``Poker`` amp) and whether it is ``torch.compile``d."""

    amp: str
    compiled: bool = False


@dataclass
class InferenceBench:
    name: str
    resolution: int
    params_m: float
    gflops_per_video: float
    variant: str  # e.g. "fp32", "bf16", "bf16 compiled"
    one_poke: Timing
    batch: Timing
    batch_size: int
    device: str

    def row(self) -> str:
        return (f"| {self.name} | {self.resolution} | {self.params_m:.2f} | {self.gflops_per_video:.2f} | "
                f"{self.variant} | {self.one_poke} | {self.batch} | {self.batch.median / self.batch_size:.2f} | "
                f"{self.device} |")


HEADER = ("| model | res | params (M) | GFLOPs / video | precision | 1 poke, ms: median (min-max) | "
          "64 pokes in one batch, ms: median (min-max) | ms / video in batch | device |\n"
          "|---|---|---|---|---|---|---|---|---|")


def interleaved_ms(fns: list[Callable[[], object]], rounds: int, warmup: int = 1,
                   device: torch.device | None = None) -> list[Timing]:
    """Time every ``fns[i]`` once per round, round after round, so that a change of machine load or
    clock during the run falls on all of them alike (rather than on whichever ran last)."""
    sync = torch.cuda.synchronize if device is not None and device.type == "cuda" else (lambda: None)
    for fn in fns:
        for _ in range(warmup):
            fn()
    sync()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            sync()
            times[i].append((time.perf_counter() - t0) * 1000)
    return [Timing(tuple(t)) for t in times]


def batch_rounds(repeats: int) -> int:
    """Rounds of the batch for ``repeats`` rounds of one poke: a third as many (a batch takes longer), at least 3."""
    return max(3, repeats // 3)


def forward_gflops(cfg: ModelConfig) -> float:
    """Forward FLOPs of one video (one poke) counted by torch.utils.flop_counter, in GFLOPs."""
    model = IPoke(cfg).eval()
    r = cfg.resolution
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, r, r), torch.zeros(1, 2, r, r))
    return counter.get_total_flops() / 1e9


def bench_inference(name: str, cfg: ModelConfig, variants: list[Variant], device: str = "auto", batch: int = 64,
                    repeats: int = 7) -> list[InferenceBench]:
    """Latency of one poke and of ``batch`` pokes in one forward pass through ``Poker``, for each variant
    of the same weights, timed in interleaved rounds (``repeats`` rounds of one poke, a third as many of
    the batch, at least 3). Compiled variants are warmed up (compiled) before the first round."""
    torch.manual_seed(0)
    model = IPoke(cfg)
    pokers = []
    for v in variants:
        poker = Poker(copy.deepcopy(model), {"trained": False}, device, v.amp)
        if v.compiled:
            poker.compile()
        pokers.append(poker)
    r = cfg.resolution
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (r, r, 3), dtype=np.uint8)
    one = [[Poke(r / 2, r / 2, 4.0, -3.0)]]
    many = [[Poke(float(rng.uniform(4, r - 5)), float(rng.uniform(4, r - 5)), 5.0, 2.0)] for _ in range(batch)]
    dev = pokers[0].device
    one_ms = interleaved_ms([lambda p=p: p.generate(source, one) for p in pokers], repeats, 2, dev)
    batch_ms = interleaved_ms([lambda p=p: p.generate(source, many, batch_size=batch) for p in pokers],
                              batch_rounds(repeats), 1, dev)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    gflops = forward_gflops(cfg)
    out = []
    for v, poker, t1, tb in zip(variants, pokers, one_ms, batch_ms):
        precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[poker.amp_dtype]
        out.append(InferenceBench(name, r, params, gflops, precision + (" compiled" if v.compiled else ""), t1, tb,
                                  batch, str(poker.device)))
    return out


@dataclass
class PrecisionBench:
    """fp32 against bf16 autocast on the same trained weights and inputs (``ipoke bench --precision``).

    Timings are ``(fp32, bf16)`` pairs from interleaved rounds; differences are between the two
    precisions' outputs: frames in grey levels (0-255), heatmap values in heatmap units (0-1).
    """

    model: str
    device: str
    auto_choice: dict[int, str]  # batch size -> what ``--amp auto`` runs there ("fp32" | "bf16")
    one_poke: tuple[Timing, Timing]
    batch: tuple[Timing, Timing]
    heatmap: tuple[Timing, Timing]
    batch_size: int
    heatmap_n: int
    frame_diff_max: int
    frame_diff_mean: float
    heatmap_diff_max: float

    def table(self) -> str:
        rows = [("1 poke (batch 1), ms", self.one_poke), (f"{self.batch_size} pokes in one batch, ms", self.batch),
                (f"heatmap, N = {self.heatmap_n}, ms", self.heatmap)]
        lines = ["| what | fp32 | bf16 | fp32 / bf16 |", "|---|---|---|---|"]
        for name, (a, b) in rows:
            lines.append(f"| {name} | {a} | {b} | {a.median / b.median:.2f}x |")
        lines.append(f"| frames: largest / mean difference, grey levels | | | {self.frame_diff_max} / "
                     f"{self.frame_diff_mean:.2f} |")
        lines.append(f"| heatmap values: largest difference (0-1) | | | {self.heatmap_diff_max:.3f} |")
        return "\n".join(lines)


def bench_precision(checkpoint, image, device: str = "cpu", batch: int = 64, heatmap_n: int = 64,
                    repeats: int = 7) -> PrecisionBench:
    """Time fp32 and bf16 autocast of one trained checkpoint on one image in interleaved rounds: one
    poke, ``batch`` pokes in one pass and a heatmap of ``heatmap_n`` pokes (as the app computes it);
    and measure how far the two precisions' frames and heatmap values differ on the same pokes.

    ``image`` is ``(H, W, 3) uint8`` or a path; ``checkpoint`` a path or name of a checkpoint.
    """
    from ipoke_core.analysis.heatmap import correlation_heatmap, poker_generate_fn, poker_motion_fn, random_pokes
    from ipoke_core.device import resolve_amp

    fp32 = Poker.from_checkpoint(checkpoint, device, amp="off")
    bf16 = Poker.from_checkpoint(checkpoint, device, amp="bf16")
    source, _ = fp32.prepare(image)
    r = fp32.resolution
    rng = np.random.default_rng(0)
    one = [[Poke(r / 2, r / 2, 4.0, -3.0)]]
    many = [[Poke(float(rng.uniform(4, r - 5)), float(rng.uniform(4, r - 5)), float(rng.uniform(-6, 6)),
                  float(rng.uniform(-6, 6)))] for _ in range(batch)]
    hm_batch = 64 if fp32.device.type == "cuda" else 16  # what the app and `bench --heatmap` use
    loc = ((r - 1) / 2, (r - 1) / 2)
    hm_pokes = random_pokes(loc, heatmap_n, fp32.magnitude_range(), seed=0)

    def heatmap(p: Poker) -> np.ndarray:
        return correlation_heatmap(poker_generate_fn(p, source, hm_batch), source, loc, pokes=hm_pokes,
                                   motion=poker_motion_fn(p, source, hm_batch), batch_size=hm_batch).heatmap

    pair = (fp32, bf16)
    dev = fp32.device
    one_ms = interleaved_ms([lambda p=p: p.generate(source, one) for p in pair], repeats, 2, dev)
    batch_ms = interleaved_ms([lambda p=p: p.generate(source, many, batch_size=batch) for p in pair],
                              batch_rounds(repeats), 1, dev)
    hm_ms = interleaved_ms([lambda p=p: heatmap(p) for p in pair], batch_rounds(repeats), 1, dev)
    frames = [p.generate(source, many, batch_size=batch).astype(np.int16) for p in pair]
    diff = np.abs(frames[0] - frames[1])
    hm_diff = float(np.abs(heatmap(fp32) - heatmap(bf16)).max())
    auto = {b: "bf16" if resolve_amp("auto", dev) == torch.bfloat16 else "fp32" for b in (1, batch)}
    return PrecisionBench(str(checkpoint), str(dev), auto, (one_ms[0], one_ms[1]), (batch_ms[0], batch_ms[1]),
                          (hm_ms[0], hm_ms[1]), batch, heatmap_n, int(diff.max()), float(diff.mean()), hm_diff)
