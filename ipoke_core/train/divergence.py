"""A run whose loss turned NaN/inf, or whose weights blew up, stops with a message that names the last
good checkpoint and how to go on. Weights that are no longer finite are never saved over a good one."""
from __future__ import annotations

from pathlib import Path

from torch import nn

from ipoke_core.train.engine import NonFiniteLoss

# a weight this large (or NaN) means the last update diverged; trained weights are of order 1
DIVERGED_WEIGHT = 1e6
BLOWN_UP = "weights"  # NonFiniteLoss's name when the weights, not a loss, went non-finite


def weights_finite(model: nn.Module) -> bool:
    """Whether every parameter is below DIVERGED_WEIGHT in magnitude (NaN compares false: not finite)."""
    return all(bool(p.detach().abs().max() < DIVERGED_WEIGHT) for p in model.parameters())


def divergence_message(it: int, err: NonFiniteLoss, saved_now: Path | None, last_checkpoint: Path | None,
                       resumed_from: Path | None) -> str:
    """The one message for a run stopped at iteration ``it`` (0-based) by ``err``. ``saved_now``: the
    checkpoint just saved with the weights before the bad step (None when they were not finite)."""
    if saved_now is not None:
        where = f"is {saved_now} (step {it})"
    elif last_checkpoint is not None:
        where = f"is {last_checkpoint} (an earlier step)"
    elif resumed_from is not None:  # nothing saved since the resume: the state it resumed from
        where = f"is the state this session resumed from, {resumed_from}"
    else:
        where = "from this run: none (nothing was saved before it diverged)"
    what = ("the weights diverged at the previous update" if err.names == [BLOWN_UP]
            else f"loss {', '.join(err.names)} is NaN or infinite")
    return (f"training stopped at step {it + 1}: {what}. The last good checkpoint {where}; "
            "resume with a smaller learning rate, e.g. --resume --set train.lr=5e-5")
