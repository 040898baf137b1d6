"""Inference benchmarks: median latency of one poke and of a 64-poke batch, parameters, GFLOPs.

Numbers are medians over repeats after warm-up; CUDA timings synchronise the device.
"""
from __future__ import annotations

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


@dataclass
class InferenceBench:
    name: str
    resolution: int
    params_m: float
    gflops_per_video: float
    one_poke_ms: float
    batch_ms: float
    batch_size: int
    device: str

    def row(self) -> str:
        return (f"| {self.name} | {self.resolution} | {self.params_m:.2f} | {self.gflops_per_video:.2f} | "
                f"{self.one_poke_ms:.0f} | {self.batch_ms:.0f} | {self.batch_ms / self.batch_size:.1f} | {self.device} |")


HEADER = ("| model | res | params (M) | GFLOPs / video | 1 poke (ms) | 64 pokes (ms) | ms / video in batch | device |\n"
          "|---|---|---|---|---|---|---|---|")


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 1, device: torch.device | None = None) -> float:
    sync = torch.cuda.synchronize if device is not None and device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def forward_gflops(cfg: ModelConfig) -> float:
    """Forward FLOPs of one video (one poke) counted by torch.utils.flop_counter, in GFLOPs."""
    model = IPoke(cfg).eval()
    r = cfg.resolution
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, r, r), torch.zeros(1, 2, r, r))
    return counter.get_total_flops() / 1e9


def bench_inference(name: str, cfg: ModelConfig, device: str = "auto", batch: int = 64, repeats: int = 10,
                    compile_model: bool = False, amp: str = "auto") -> InferenceBench:
    """Latency of one poke and of ``batch`` pokes through ``Poker`` (``amp``: its autocast setting)."""
    torch.manual_seed(0)
    model = IPoke(cfg)
    poker = Poker(model, {"trained": False}, device, amp)
    if compile_model:
        poker.model = torch.compile(poker.model)
    r = cfg.resolution
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (r, r, 3), dtype=np.uint8)
    one = [[Poke(r / 2, r / 2, 4.0, -3.0)]]
    many = [[Poke(float(rng.uniform(4, r - 5)), float(rng.uniform(4, r - 5)), 5.0, 2.0)] for _ in range(batch)]
    one_ms = median_ms(lambda: poker.generate(source, one), repeats, 2, poker.device)
    batch_ms = median_ms(lambda: poker.generate(source, many), max(3, repeats // 3), 1, poker.device)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[poker.amp_dtype]
    return InferenceBench(name, r, params, forward_gflops(cfg), one_ms, batch_ms, batch,
                          f"{poker.device} {precision}")
