"""torchrun / DistributedDataParallel set-up.

``torchrun --nproc_per_node N -m ipoke_core.cli train ...`` starts N processes with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` in the environment; a plain ``ipoke train`` is world size 1.
NCCL on CUDA, gloo on the CPU. Rank 0 alone logs and writes files.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ipoke_core.device import resolve_device


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun; pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank=local)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    return DistInfo(rank, world, local, dev)


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Average a tensor over ranks (identity when not distributed)."""
    if info.enabled:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= info.world_size
    return values


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True when ``flag`` is true on any rank (so every rank takes the same branch)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def weights_in_sync_message(model: torch.nn.Module, info: DistInfo) -> str:
    """DDP keeps every rank's weights identical; check it with a checksum (a cheap guard) and say so.
    A collective: every rank must call it."""
    total = torch.zeros(1, dtype=torch.float64, device=info.device)
    for p in model.parameters():
        total += p.detach().double().sum()
    sums = [torch.zeros_like(total) for _ in range(info.world_size)]
    dist.all_gather(sums, total)
    values = [float(v) for v in sums]
    if max(values) - min(values) > 1e-9 * max(1.0, abs(values[0])):
        return f"WARNING: the ranks' weights differ (checksums {values}): please report this"
    return f"weights identical on all {info.world_size} ranks (checksum {values[0]:.6f})"
