"""Data-loading benchmark (``ipoke bench --data DIR``): samples/s of ``PokeDataset`` through a
2-worker DataLoader at batch 32, 64 x 64, as the trainer uses it."""
from __future__ import annotations

import time
from pathlib import Path


def bench_loader(root: str | Path, resolution: int = 64, batch_size: int = 32, workers: int = 2, batches: int = 40,
                 poke_source: str = "flow") -> dict[str, float]:
    """Measure items/s of one process and samples/s of the DataLoader (after one warm-up batch)."""
    import torch
    from torch.utils.data import DataLoader

    from ipoke_core.data.dataset import PokeDataset

    ds = PokeDataset(root, "train", resolution=resolution, poke_source=poke_source)
    # in-process: one item at a time on one thread (what each worker does)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    n_single = min(len(ds), 64)
    t = time.perf_counter()
    for i in range(n_single):
        ds[i]
    single = n_single / (time.perf_counter() - t)
    torch.set_num_threads(threads)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=False,
                        persistent_workers=workers > 0)
    done, t0 = 0, None
    while done < batches:
        for batch in loader:
            if t0 is None:  # the first batch pays for the worker start-up
                t0, done = time.perf_counter(), 0
                n = 0
                continue
            n += batch["source"].shape[0]
            done += 1
            if done >= batches:
                break
    rate = n / (time.perf_counter() - t0)
    return {"items_per_s_one_process": single, "samples_per_s_loader": rate, "batches": done}
