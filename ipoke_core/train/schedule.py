"""Learning-rate schedule and weight averaging of the generator.

Both answer the same observation: at a constant learning rate with small batches the validation
numbers wander from one checkpoint to the next (the last checkpoint of a run is often not its best).
A cosine decay lets the last steps settle; an exponential moving average (EMA) of the weights
smooths what is left. Checkpoints then hold the averaged weights.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def lr_factor(schedule: str, step: int, total: int, final_ratio: float) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based) of a stage of ``total`` steps.

    ``constant`` is 1; ``cosine`` falls along half a cosine from 1 at step 0 to ``final_ratio`` at the
    last step (and stays there past it, e.g. when a run is resumed with more steps).
    """
    if schedule == "constant" or total <= 1:
        return 1.0
    progress = min(1.0, step / (total - 1))
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def ema_model(model: nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of ``model`` (parameters and buffers) with a warm-up.

    The effective decay is ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so that a short run
    (a few hundred steps) is not dominated by its random initial weights.
    """

    # AveragedModel's update count lives on the model's device; reading it every step would stall the
    # GPU once a step, so it is read once (the first update, also after a resume) and counted here.
    count: list[int] = []

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        if not count:
            count.append(int(num_averaged))
        n = count[0]
        count[0] += 1
        d = min(decay, (1.0 + n) / (10.0 + n))
        torch._foreach_lerp_(averaged, current, 1.0 - d)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)
