"""The session's requests: snapshots of what a piece of model work is made from, safe to ``run`` in any
thread (``run(progress, cancel)``). A GUI runs them in its worker lanes and hands the result back to
the workspace (``accept_*``), which refuses a result for an image or a model no longer shown."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ipoke_core.analysis.heatmap import DEFAULT_BATCH
from ipoke_core.image import Framing
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, ProgressFn

if TYPE_CHECKING:
    from ipoke_core.analysis.heatmap import HeatmapResult
    from ipoke_core.analysis.parts import PartsResult
    from ipoke_core.inference import Poker, Video

ImageInput = str | Path | np.ndarray
PokerFactory = Callable[[str, str], "Poker"]  # (checkpoint path, device) -> Poker


def load_poker(path: str, device: str) -> Poker:
    """The real loader, ``ipoke_core.inference.load_poker``, imported on first use (it pulls in the model)."""
    from ipoke_core.inference import load_poker as load

    return load(path, device)


@dataclass(frozen=True, eq=False)
class ModelLoad:
    """A checkpoint to load (``factory(path, device)``, then ``check`` of the result); any thread."""

    path: str
    device: str
    factory: PokerFactory = load_poker
    check: Callable[[Poker, str], Poker] | None = None  # e.g. the app's sidecar check; raises to refuse

    def run(self, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Poker:
        poker = self.factory(self.path, self.device)
        return poker if self.check is None else self.check(poker, self.path)


@dataclass(frozen=True, eq=False)
class PokeRequest:
    """A snapshot of what a video is made from; ``run`` may be called from any thread."""

    poker: Poker
    image: np.ndarray  # the workspace's image when asked (results for another image are refused)
    input: ImageInput  # what the model is given: the path of a file opened by path, else ``image``
    framing: Framing
    pokes: tuple[Poke, ...]
    preview: bool = False
    full_resolution: bool = True  # also draw the video at the photo's resolution (here, off the GUI thread)

    def run(self, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Video | None:
        """The video of the pokes (None when there are none: the video is cleared)."""
        if not self.pokes:
            return None
        video = self.poker.poke(self.input, list(self.pokes), framing=self.framing)
        if self.full_resolution:
            _ = video.full_resolution  # computed once, here in the caller's (worker) thread, not where it is shown
        return video


@dataclass(frozen=True, eq=False)
class HeatmapRequest:
    """A snapshot of what one heatmap is made from; ``run`` may be called from any thread."""

    poker: Poker
    image: np.ndarray
    source_size: tuple[int, int]
    framing: Framing
    point: tuple[float, float]  # in the image's pixels
    number: int  # its place among the workspace's heatmap locations, from 1
    n: int = 64
    batch_size: int = DEFAULT_BATCH
    seed: int = 0
    magnitude_range: tuple[float, float] | None = None  # model pixels; None: the checkpoint's training range

    def run(self, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> HeatmapResult:
        from ipoke_core.analysis.heatmap import heatmap_for_image

        kw = {} if self.magnitude_range is None else {"magnitude_range": self.magnitude_range}
        return heatmap_for_image(self.poker, self.image, self.point, framing=self.framing,
                                 source_size=self.source_size, n=self.n, batch_size=self.batch_size,
                                 seed=self.seed, progress=progress, cancel=cancel, **kw)


@dataclass(frozen=True, eq=False)
class PartsRequest:
    """A snapshot of what the parts are made from; ``run`` may be called from any thread."""

    poker: Poker
    image: np.ndarray
    framing: Framing
    grid: int = 8
    batch_size: int = 32

    def run(self, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> PartsResult:
        from ipoke_core.analysis.parts import parts_for_image

        return parts_for_image(self.poker, self.image, framing=self.framing, grid=self.grid,
                               batch_size=self.batch_size, progress=progress, cancel=cancel)


@dataclass(frozen=True, eq=False)
class VideoExport:
    """Write a video as the path's suffix says (.mp4, .gif, .png strip, none: PNG frames); any thread."""

    video: Video
    path: Path
    upscale: int = 4
    overlay: bool = True
    fps: float | None = None
    overwrite: bool = True
    full_resolution: bool = True

    def run(self, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Path:
        from ipoke_core.export import export_video

        return export_video(self.video, self.path, upscale=self.upscale, overlay=self.overlay, fps=self.fps,
                            overwrite=self.overwrite, full_resolution=self.full_resolution)
