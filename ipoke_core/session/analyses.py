"""The analyses of the workspace's image: the heatmap locations with their results (paper Fig. 5)
and the model's parts, each asked for as a request and handed back, and their files."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ipoke_core.errors import UserError
from ipoke_core.session.events import HEATMAPS, PARTS
from ipoke_core.session.files import (
    write_heatmap_figure, write_heatmap_set, write_heatmap_stack, write_parts_labels, write_parts_png,
)
from ipoke_core.session.requests import HeatmapRequest, PartsRequest

if TYPE_CHECKING:
    import numpy as np

    from ipoke_core.analysis.heatmap import HeatmapResult
    from ipoke_core.analysis.parts import PartsResult


class Analyses:
    """Heatmaps and parts; a base of ``Workspace``, whose ``poker``, ``image``, ``framing``,
    ``source_size``, ``heatmap_settings`` and ``_emit`` it uses. A new image, square or model clears them."""

    heat_points: list[tuple[float, float]]  # in the image's pixels: shown + pending
    heatmaps: list[HeatmapResult]  # the finished ones, in order
    parts: PartsResult | None  # the model's parts of the image, when asked
    _result_points: list[tuple[float, float]]  # the location of each finished heatmap

    # ---- heatmaps ----------------------------------------------------------------------------------
    def heatmap_request(self, x: float, y: float, n: int | None = None, batch_size: int | None = None,
                        seed: int | None = None, magnitude_range: tuple[float, float] | None = None) -> HeatmapRequest:
        """Add the location ``(x, y)`` (image pixels) and return what its heatmap is made from; what is
        not given comes from ``heatmap_settings``."""
        if self.poker is None or self.image is None or self.framing is None:
            raise UserError("load a model and an image first")
        s = self.heatmap_settings
        n = s.n if n is None else n
        batch_size = s.batch_size if batch_size is None else batch_size
        seed = s.seed if seed is None else seed
        magnitude_range = s.magnitude_range if magnitude_range is None else magnitude_range
        self.heat_points.append((x, y))
        request = HeatmapRequest(self.poker, self.image, self.source_size, self.framing, (x, y),
                                 len(self.heat_points), n, batch_size, seed, magnitude_range)
        self._emit(HEATMAPS)
        return request

    def accept_heatmap(self, request: HeatmapRequest, result: HeatmapResult) -> bool:
        """Add the result of ``request``; False when its image or location is gone."""
        if request.image is not self.image or request.point not in self.heat_points:
            return False
        self.heatmaps.append(result)
        self._result_points.append(request.point)
        self._emit(HEATMAPS)
        return True

    def drop_heatmap(self, request: HeatmapRequest) -> None:
        """A heatmap that failed or was cancelled: its location goes."""
        if request.image is self.image and request.point in self.heat_points:
            self.heat_points.remove(request.point)
            self._emit(HEATMAPS)

    def compute_heatmap(self, x: float, y: float, **kwargs) -> HeatmapResult:
        """A heatmap computed here and now (the CLI; a GUI runs the request in a worker)."""
        progress, cancel = kwargs.pop("progress", None), kwargs.pop("cancel", None)
        request = self.heatmap_request(x, y, **kwargs)
        try:
            result = request.run(progress, cancel)
        except BaseException:
            self.drop_heatmap(request)
            raise
        self.accept_heatmap(request, result)
        return result

    def clear_heatmaps(self) -> None:
        if self._clear_heatmaps():
            self._emit(HEATMAPS)

    def _clear_heatmaps(self) -> bool:
        had = bool(self.heat_points or self.heatmaps)
        self.heat_points, self.heatmaps, self._result_points = [], [], []
        return had

    @property
    def heatmap_source(self) -> np.ndarray:
        """``(R, R, 3) uint8``: the model input the heatmaps belong to."""
        if not self.heatmaps:
            raise UserError("there are no heatmaps yet")
        return self.heatmaps[0].source

    def save_heatmap_figure(self, path: str | Path, alpha: float = 0.6, colormap: str = "inferno",
                            upscale: int = 4, columns: int | None = None) -> Path:
        return write_heatmap_figure(path, self.heatmap_source, self.heatmaps, alpha, colormap, upscale, columns)

    def save_heatmap_stack(self, path: str | Path) -> Path:
        self.heatmap_source  # noqa: B018 - refuses an empty set
        return write_heatmap_stack(path, self.heatmaps)

    def save_heatmap_set(self, folder: str | Path, alpha: float = 0.6, colormap: str = "inferno",
                         upscale: int = 4, seed: int = 0, meta: dict | None = None) -> list[Path]:
        """All files of the heatmaps in ``folder`` (see ``write_heatmap_set``), as ``ipoke heatmap`` writes them."""
        return write_heatmap_set(folder, self.heatmap_source, self.heatmaps, self._result_points, alpha, colormap, upscale,
                                 seed, meta)

    # ---- parts -------------------------------------------------------------------------------------
    def parts_request(self, grid: int = 8, batch_size: int = 32) -> PartsRequest:
        """What the model's parts of the current image and square are made from."""
        if self.poker is None or self.image is None or self.framing is None:
            raise UserError("load a model and an image first")
        return PartsRequest(self.poker, self.image, self.framing, grid, batch_size)

    def accept_parts(self, request: PartsRequest, result: PartsResult) -> bool:
        """Take the parts of ``request``; False when its image, square or model is no longer the workspace's."""
        if request.image is not self.image or request.framing != self.framing or request.poker is not self.poker:
            return False
        self.parts = result
        self._emit(PARTS)
        return True

    def clear_parts(self) -> None:
        if self._clear_parts():
            self._emit(PARTS)

    def _clear_parts(self) -> bool:
        had, self.parts = self.parts is not None, None
        return had

    def save_parts_png(self, path: str | Path, alpha: float = 0.55) -> Path:
        if self.parts is None:
            raise UserError("there are no parts yet")
        return write_parts_png(path, self.image, self.parts, alpha)

    def save_parts_labels(self, path: str | Path) -> Path:
        if self.parts is None:
            raise UserError("there are no parts yet")
        return write_parts_labels(path, self.parts)
