"""Is a model's Fig.-5 map right for a push on a leaf and wrong for a push on the stem, or the other way round?

Team script (not part of the product), for docs/experiments/2026-12-07-prior-width.md. On the structure
clips of a synthetic test set (the eval's clips and truth pokes, as `truth_references.py`), it splits
the clips by how much of the object the poked part carries (the share of the object's pixels in the
poked part's subtree: a leaf carries itself, the stem low down carries the crown) and reports, per
group, the truth corr. of each checkpoint, of the 4 px and 8 px blobs, and the spread (heat-weighted
mean distance from the poke over the object) of the simulator's maps and each model's.

    python docs/experiments/truth_by_subtree.py data/plants64_seed11 --checkpoint resources/checkpoints/plants64
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from truth_references import blob, fraction_map_corr, model_map_scores, simulator_cases, spread  # noqa: E402

from ipoke_core.analysis.structure import poked_part, subtree  # noqa: E402
from ipoke_core.data import read_dataset_meta  # noqa: E402

GROUPS = ((0.0, 0.15, "carries < 15 % of the object"), (0.15, 0.5, "15-50 %"), (0.5, 1.01, "> 50 % (the stem low down)"))


def carried_share(case) -> float:
    c = case.clip
    part = poked_part(c.parts, (c.poke.x, c.poke.y))
    return float(np.isin(c.parts, subtree(c.parents, part)).sum() / max((c.parts >= 0).sum(), 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--checkpoint", action="append", default=[])
    args = ap.parse_args()
    from ipoke_core.inference import Poker

    resolution = int(read_dataset_meta(args.data)["resolution"])
    scale = resolution / 64.0
    cases = simulator_cases(args.data, resolution, 10, args.clips)
    share = np.array([carried_share(k) for k in cases])
    cols: dict[str, np.ndarray] = {}
    for s in (4.0, 8.0):
        cols[f"blob {s:g} px"] = np.array([fraction_map_corr(blob(k, s * scale), k) for k in cases])
    spreads = {"simulator": np.array([spread(k.heat, k) for k in cases])}
    for ck in args.checkpoint:
        cols[ck], spreads[ck] = model_map_scores(Poker.from_checkpoint(ck, device="cpu"), cases)
    print(f"{args.data}: {len(cases)} structure clips")
    print("| clips: poked part's subtree | n | " + " | ".join(f"corr. {k}" for k in cols) + " | "
          + " | ".join(f"spread {k} (px)" for k in spreads) + " |")
    for lo, hi, name in GROUPS:
        m = (share >= lo) & (share < hi)
        if not m.any():
            continue
        print(f"| {name} | {int(m.sum())} | " + " | ".join(f"{np.nanmean(v[m]):.3f}" for v in cols.values()) + " | "
              + " | ".join(f"{np.mean(v[m]):.1f}" for v in spreads.values()) + " |")
    print("| all | " + f"{len(cases)} | " + " | ".join(f"{np.nanmean(v):.3f}" for v in cols.values()) + " | "
          + " | ".join(f"{np.mean(v):.1f}" for v in spreads.values()) + " |")


if __name__ == "__main__":
    main()
