"""Training: losses, the two stages, the loop, resumable state, torchrun set-up, sample grids, plots.

Imports torch; the CLI imports this package inside ``run()`` only.
"""
from ipoke_core.train.trainer import TrainOptions, TrainResult, train

__all__ = ["TrainOptions", "TrainResult", "train"]
