"""``ipoke bench --heatmap``: seconds per correlation-heatmap location (N=64 pokes, 64x64, incl. flow)."""
from __future__ import annotations

import argparse

from ipoke_core.paths import DEFAULT_CHECKPOINT


def main(args: argparse.Namespace) -> dict:
    """Time heatmaps with the bundled default checkpoint (or the default architecture, untrained,
    when none is bundled: speed does not depend on the weights). Prints and returns the numbers."""
    import torch

    from ipoke_core.analysis.heatmap import benchmark_heatmap
    from ipoke_core.inference import Poker

    device = getattr(args, "device", "auto")
    if DEFAULT_CHECKPOINT.with_suffix(".safetensors").exists():
        poker, what = Poker.from_checkpoint(DEFAULT_CHECKPOINT, device), DEFAULT_CHECKPOINT.name
    else:
        from ipoke_core.config import default_model_config
        from ipoke_core.model import IPoke

        torch.manual_seed(0)
        poker, what = Poker(IPoke(default_model_config(64)), {}, device), "default64 (untrained)"
    repeats = max(1, min(getattr(args, "repeats", 3), 5))
    out = benchmark_heatmap(poker, n=64, batch_size=64 if poker.device.type == "cuda" else 16, repeats=repeats)
    times = ", ".join(f"{t:.2f}" for t in out["times_s"])
    print(f"heatmap  {what} {out['resolution']}x{out['resolution']} N={out['n']} on {out['device']}: "
          f"median {out['median_s']:.2f} s per location (model {out['generate_median_s']:.2f} s, "
          f"flow {out['flow_median_s']:.2f} s; runs: {times})", flush=True)
    return out
