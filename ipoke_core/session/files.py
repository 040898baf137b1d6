"""The files of a session's analyses, one format for the app's Save buttons and the CLI verbs:
heatmaps (the stack, the Fig.-5 figure, the full set of ``ipoke heatmap``) and parts (PNG, labels)."""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ipoke_core.analysis.heatmap import HeatmapResult
    from ipoke_core.analysis.parts import PartsResult


# ---- the heatmap files: one format for the app's Save buttons and `ipoke heatmap` ------------------
def heatmap_stack(results: Sequence[HeatmapResult]) -> np.ndarray:
    """``(L, R, R) float32``: the heatmaps in location order (what "Save .npy" and heatmaps.npy hold)."""
    return np.stack([np.asarray(r.heatmap, np.float32) for r in results])


def write_heatmap_stack(path: str | Path, results: Sequence[HeatmapResult]) -> Path:
    from ipoke_core.io_utils import atomic_path

    with atomic_path(path) as tmp:
        np.save(tmp, heatmap_stack(results))
    return Path(path)


def write_heatmap_figure(path: str | Path, source: np.ndarray, results: Sequence[HeatmapResult],
                         alpha: float = 0.6, colormap: str = "inferno", upscale: int = 4,
                         columns: int | None = None) -> Path:
    """The paper-style figure (Fig. 5): the source with numbered locations, then one overlay each."""
    from ipoke_core.analysis.render import render_grid
    from ipoke_core.image import write_png

    write_png(render_grid(source, results, alpha=alpha, colormap=colormap, upscale=upscale, columns=columns),
              Path(path))
    return Path(path)


# every file a heatmap set writes into its folder, an earlier (longer) run's included; nothing else there is ours
HEATMAP_SET_FILE = re.compile(r"loc[1-9]\d*_(heatmap\.npy|variance\.npy|overlay\.png)|heatmaps\.npy|grid\.png|heatmaps\.json")


def heatmap_set_output(folder: str | Path, n_locations: int):
    """The files ``write_heatmap_set`` writes for ``n_locations`` locations, as an output for the guard."""
    from ipoke_core.outputs import FolderOutput

    names = [f"loc{i}_{kind}" for i in range(1, n_locations + 1)
             for kind in ("heatmap.npy", "variance.npy", "overlay.png")]
    return FolderOutput(Path(folder), HEATMAP_SET_FILE, (*names, "heatmaps.npy", "grid.png", "heatmaps.json"))


def write_heatmap_set(folder: str | Path, source: np.ndarray, results: Sequence[HeatmapResult],
                      points: Sequence[tuple[float, float]], alpha: float = 0.6, colormap: str = "inferno",
                      upscale: int = 4, seed: int = 0, meta: dict | None = None) -> list[Path]:
    """Everything about a set of heatmaps in ``folder``: per location ``loc{i}_heatmap.npy``,
    ``loc{i}_variance.npy`` and ``loc{i}_overlay.png``; then ``heatmaps.npy`` (the stack, as the app's
    "Save .npy"), ``grid.png`` (the figure) and ``heatmaps.json`` (``meta`` plus one entry per location)."""
    from ipoke_core.analysis.render import render_overlay
    from ipoke_core.image import write_png
    from ipoke_core.io_utils import atomic_path, atomic_write_text

    folder = Path(folder)
    written, summary = [], []
    for i, (res, (x, y)) in enumerate(zip(results, points), 1):
        stem = folder / f"loc{i}"
        for name, arr in (("heatmap", res.heatmap), ("variance", res.variance)):
            with atomic_path(f"{stem}_{name}.npy") as tmp:
                np.save(tmp, arr)
        write_png(render_overlay(source, res, alpha, colormap, upscale), Path(f"{stem}_overlay.png"))
        written += [Path(f"{stem}_heatmap.npy"), Path(f"{stem}_variance.npy"), Path(f"{stem}_overlay.png")]
        lo, hi = (min(p.magnitude for p in res.pokes), max(p.magnitude for p in res.pokes))
        summary.append({
            "index": i, "at_image_px": [x, y], "at_model_px": list(res.location), "n": res.n, "seed": seed,
            "magnitude_px_sampled": [lo, hi], "reference_variance": res.reference_variance,
            "mean_heatmap": float(res.heatmap.mean()), "elapsed_s": res.elapsed_s,
        })
    written.append(write_heatmap_stack(folder / "heatmaps.npy", results))
    written.append(write_heatmap_figure(folder / "grid.png", source, results, alpha, colormap, upscale))
    atomic_write_text(folder / "heatmaps.json", json.dumps({**(meta or {}), "locations": summary}, indent=2) + "\n")
    written.append(folder / "heatmaps.json")
    return written


# ---- the parts files: one format for the app's Save buttons and `ipoke parts` -----------------------
def write_parts_png(path: str | Path, image: np.ndarray, result: PartsResult, alpha: float = 0.55) -> Path:
    """The parts coloured over ``image`` (the working image ``result.framing`` was made for), at its size."""
    from ipoke_core.analysis.parts import labels_in_image
    from ipoke_core.analysis.render import render_parts
    from ipoke_core.image import write_png

    write_png(render_parts(image, labels_in_image(result), alpha=alpha, upscale=1), Path(path))
    return Path(path)


def write_parts_labels(path: str | Path, result: PartsResult) -> Path:
    """The labels in the working image's pixels, ``(H, W) int64`` (-1 = still or outside the model's square)."""
    from ipoke_core.analysis.parts import labels_in_image
    from ipoke_core.io_utils import atomic_path

    with atomic_path(path) as tmp:
        np.save(tmp, labels_in_image(result))
    return Path(path)
