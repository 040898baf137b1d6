"""``ipoke bench --heatmap``: seconds per correlation-heatmap location (N=64 pokes, 64x64, incl. flow)."""
from __future__ import annotations

from ipoke_core.paths import DEFAULT_CHECKPOINT, checkpoint_paths


def heatmap_benchmark(device: str = "auto", repeats: int = 3, compiled: bool = False) -> dict:
    """Time heatmaps with the bundled default checkpoint (or the default architecture, untrained,
    when none is bundled: speed does not depend on the weights); ``repeats`` is clamped to 1..5.
    ``compiled``: through ``Poker.compile`` (the untimed warm-up heatmap pays the compilation).

    Returns ``benchmark_heatmap``'s numbers plus ``"model"``, the name of what was timed.
    """
    import torch

    from ipoke_core.analysis.heatmap import DEFAULT_BATCH, benchmark_heatmap
    from ipoke_core.inference import Poker

    if checkpoint_paths(DEFAULT_CHECKPOINT)[0].exists():
        poker, what = Poker.from_checkpoint(DEFAULT_CHECKPOINT, device), DEFAULT_CHECKPOINT.name
    else:
        from ipoke_core.config import default_model_config
        from ipoke_core.model import IPoke

        torch.manual_seed(0)
        poker, what = Poker(IPoke(default_model_config(64)), {}, device), "default64 (untrained)"
    if compiled:
        poker.compile()
        what += " compiled"
    repeats = max(1, min(repeats, 5))
    batch = 64 if poker.device.type == "cuda" else DEFAULT_BATCH
    out = benchmark_heatmap(poker, n=64, batch_size=batch, repeats=repeats)
    return {**out, "model": what}
