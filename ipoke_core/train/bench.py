"""Training throughput: ``ipoke bench --train``.

Times full stage-2 iterations (generator step with perceptual, latent, both adversarial and
feature-matching losses, then the discriminator step with the R1 penalty) on random tensors,
once with the optimised engine (bf16/fp16 autocast, channels-last, TF32, cuDNN autotune, fused
Adam, optionally ``torch.compile``) and once as a plain fp32 loop of the same model, in one run.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ipoke_core.config import Config, DataConfig, ModelConfig, TrainConfig
from ipoke_core.device import resolve_device
from ipoke_core.train.distributed import DistInfo
from ipoke_core.train.engine import Batch, Engine, step_generator
from ipoke_core.train.losses import FallbackPerceptual


@dataclass
class TrainBench:
    name: str
    device: str
    batch_size: int
    steps: int
    optimized_sps: float
    plain_sps: float
    amp: str
    compiled: bool

    @property
    def speedup(self) -> float:
        return self.optimized_sps / self.plain_sps

    def row(self) -> str:
        return (f"| {self.name} | {self.device} | {self.batch_size} | {self.plain_sps:.1f} | {self.optimized_sps:.1f} "
                f"({self.amp}{', compiled' if self.compiled else ''}) | {self.speedup:.2f}x |")


HEADER = ("| model | device | batch | fp32 samples/s | optimised samples/s | speed-up |\n"
          "|---|---|---|---|---|---|")


def _random_batch(mcfg: ModelConfig, batch_size: int, device: torch.device, gen: torch.Generator) -> Batch:
    r, t = mcfg.resolution, mcfg.seq_len
    source = torch.rand(batch_size, 3, r, r, generator=gen) * 2 - 1
    frames = (source[:, None] + 0.1 * torch.randn(batch_size, t, 3, r, r, generator=gen)).clamp(-1, 1)
    poke_map = torch.zeros(batch_size, 2, r, r)
    poke_map[:, :, r // 2 - 2 : r // 2 + 3, r // 2 - 2 : r // 2 + 3] = 0.5
    poke = torch.tensor([[r / 2, r / 2, 4.0, 4.0]]).repeat(batch_size, 1)
    items = {"source": source, "frames": frames, "poke_map": poke_map, "poke": poke,
             "is_background": torch.zeros(batch_size, dtype=torch.bool)}
    return Batch.from_items(items, device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_engine(cfg: Config, device: torch.device, optimized: bool, batch_size: int, steps: int, warmup: int) -> tuple[float, str]:
    cuda = device.type == "cuda"
    if cuda:  # the plain loop is plain fp32: no TF32, no autotuning
        torch.backends.cuda.matmul.allow_tf32 = optimized
        torch.backends.cudnn.allow_tf32 = optimized
        torch.backends.cudnn.benchmark = optimized
    torch.manual_seed(0)
    engine = Engine(cfg, DistInfo(device=device), FallbackPerceptual(), optimized=optimized)
    batch = _random_batch(cfg.model, batch_size, device, torch.Generator().manual_seed(0))
    if engine.channels_last:
        batch.source = batch.source.contiguous(memory_format=torch.channels_last)
        batch.poke_map = batch.poke_map.contiguous(memory_format=torch.channels_last)
    for i in range(warmup):
        engine.stage2_step(batch, 10**6, step_generator(0, i, 0))
    _sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        engine.stage2_step(batch, 10**6, step_generator(0, warmup + i, 0))
    _sync(device)
    dt = time.perf_counter() - t0
    amp = str(engine.amp_dtype).replace("torch.", "") if engine.amp_dtype else "fp32"
    del engine
    if cuda:
        torch.cuda.empty_cache()
    return batch_size * steps / dt, amp


def benchmark_training(model: ModelConfig | Config, batch_size: int = 32, steps: int = 10, warmup: int = 3,
                       device: str = "auto", compile_model: bool = False, name: str = "model") -> TrainBench:
    """Samples/s of full stage-2 training iterations, optimised engine vs plain fp32, same model."""
    mcfg = model.model if isinstance(model, Config) else model
    dev = resolve_device(device)
    cfg = Config(name=name, model=mcfg, data=DataConfig(), train=TrainConfig(gan_warmup_steps=0, compile=compile_model))
    optimized, amp = _time_engine(cfg, dev, True, batch_size, steps, warmup)
    plain, _ = _time_engine(cfg, dev, False, batch_size, steps, warmup)
    label = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    return TrainBench(name, label, batch_size, steps, optimized, plain, amp, compile_model)


def training_benchmarks(device: str = "auto", repeats: int = 10, paper: bool = False,
                        compile_model: bool = False) -> Iterator[TrainBench]:
    """``ipoke bench --train``: one TrainBench per model, as each finishes: the default model (and with
    ``paper`` the paper's) at 64x64, batch 32. ``repeats`` timed iterations on CUDA (at least 3), 2 on
    the CPU, where the optimised path does not differ."""
    from ipoke_core.config import default_model_config, paper_model_config

    steps, warmup = (max(3, repeats), 3) if resolve_device(device).type == "cuda" else (2, 1)
    models = [("default64", default_model_config(64))]
    if paper:
        models.append(("paper64", paper_model_config(64)))
    for name, mcfg in models:
        yield benchmark_training(mcfg, 32, steps, warmup, device, compile_model, name)
