"""The workspace: what a user works on, and its rules, without Qt (napari's ``ViewerModel`` idea).

One image (and the opened original it came from), the square the model sees (``framing``), the
pokes on it, the video generated from them, the chain of "continue from last frame" steps, and
the heatmap locations with their results, and the model's parts of the image. The desktop window and the CLI verbs drive it; views
listen to it and only show what it holds.

    ws = Workspace(poker)
    ws.open_image("plant.png")                 # or an (H, W, 3) uint8 array and a name
    ws.set_pokes([Poke(120, 80, 15, -5)])      # in the image's pixels
    ws.generate()                              # the video, here and now (the CLI)
    ws.export("plant.mp4")

A GUI must never wait for the model: it asks for a ``PokeRequest`` / ``HeatmapRequest`` (a snapshot
of the inputs, safe to run in a worker thread), runs it there, and hands the result back with
``accept_video`` / ``accept_heatmap``; a result whose image is no longer the workspace's is
refused. Every change is announced to the listeners (``subscribe``) as one ``Change``: the names
of what changed (``IMAGE``, ``FRAMING``, ``POKES``, ``VIDEO``, ``HEATMAPS``, ``PARTS``, ``MODEL``) and, at
times, a note for the user.

Coordinates: pokes and heatmap locations are in pixels of the user's image (``source_size``);
for an array that is its own pixel grid, for a file opened by path the full-size image's, even
where ``load_image`` works on a reduced copy.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ipoke_core.errors import UserError
from ipoke_core.image import Framing, image_size, load_image
from ipoke_core.poke import Poke
from ipoke_core.progress import CancelToken, ProgressFn

if TYPE_CHECKING:
    from ipoke_core.analysis.heatmap import HeatmapResult
    from ipoke_core.analysis.parts import PartsResult
    from ipoke_core.inference import Poker, Video

# the model resolution used to frame an image while no model is loaded
DEFAULT_RESOLUTION = 64

IMAGE, FRAMING, POKES, VIDEO, HEATMAPS, MODEL = "image", "framing", "pokes", "video", "heatmaps", "model"
PARTS = "parts"
# a change of any of these makes the current video out of date
VIDEO_INPUTS = frozenset({IMAGE, FRAMING, POKES, MODEL})

ImageInput = str | Path | np.ndarray


@dataclass(frozen=True)
class Change:
    """What one workspace operation changed (names above) and an optional note for the user."""

    what: frozenset[str]
    note: str = ""

    def __contains__(self, name: str) -> bool:
        return name in self.what

    @property
    def video_inputs(self) -> bool:
        """True when the video no longer matches the image, framing, pokes or model."""
        return bool(self.what & VIDEO_INPUTS)


Listener = Callable[[Change], object]


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
    batch_size: int = 16
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


# ---- the workspace ------------------------------------------------------------------------------
@dataclass(eq=False)
class Workspace:
    """The state a user works on (see the module docstring). Not thread-safe: one owner thread."""

    poker: Poker | None = None
    letterbox: bool = False  # frame an opened image whole (padded) instead of center-cropping it
    # show and export videos drawn at the photo's own resolution (motion-first models), not the model's R px
    full_resolution: bool = True
    image: np.ndarray | None = field(default=None, init=False)  # the current source (H, W, 3) uint8
    original_image: np.ndarray | None = field(default=None, init=False)  # the opened image, before "continue"
    image_name: str = field(default="", init=False)  # the opened image's name
    step: int = field(default=1, init=False)  # 1: the opened image; n: "continue from last frame" n - 1 times
    source_size: tuple[int, int] = field(default=(0, 0), init=False)  # (width, height): the pixels of pokes
    framing: Framing | None = field(default=None, init=False)
    pokes: list[Poke] = field(default_factory=list, init=False)  # in the image's pixels
    video: Video | None = field(default=None, init=False)
    last_inference_ms: float | None = field(default=None, init=False)
    heat_points: list[tuple[float, float]] = field(default_factory=list, init=False)  # shown + pending
    heatmaps: list[HeatmapResult] = field(default_factory=list, init=False)  # the finished ones, in order
    parts: PartsResult | None = field(default=None, init=False)  # the model's parts of the image, when asked
    _result_points: list[tuple[float, float]] = field(default_factory=list, init=False, repr=False)
    _input: ImageInput | None = field(default=None, init=False, repr=False)  # what the model is given
    _original_input: ImageInput | None = field(default=None, init=False, repr=False)
    _original_size: tuple[int, int] | None = field(default=None, init=False, repr=False)
    _listeners: list[Listener] = field(default_factory=list, init=False, repr=False)

    # ---- events ----------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(change)`` after every change."""
        self._listeners.append(listener)

    def _emit(self, *what: str, note: str = "") -> None:
        change = Change(frozenset(what), note)
        for listener in list(self._listeners):
            listener(change)

    # ---- names -----------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        """The image's name as shown: ``plant.png``, after "continue" ``plant.png · step 2``."""
        return self.image_name if self.step == 1 else f"{self.image_name} · step {self.step}"

    @property
    def export_stem(self) -> str:
        """The suggested file name of an export, without suffix."""
        base = (Path(self.title).stem if self.title else "ipoke").replace(" ", "_").replace("·", "")
        return f"{base}_poked"

    @property
    def is_original(self) -> bool:
        return self.image is not None and self.image is self.original_image

    @property
    def resolution(self) -> int:
        return self.poker.resolution if self.poker is not None else DEFAULT_RESOLUTION

    # ---- model -----------------------------------------------------------------------------------
    def set_poker(self, poker: Poker) -> None:
        """Use ``poker``: the same window on the image, in the new model's pixel grid; heatmaps go."""
        self.poker = poker
        what = [MODEL]
        if self.framing is not None:
            self.framing = dataclasses.replace(self.framing, resolution=poker.resolution)
            what.append(FRAMING)
            if self._clear_heatmaps():
                what.append(HEATMAPS)
            if self._clear_parts():
                what.append(PARTS)
        self._emit(*what)

    # ---- image and framing -----------------------------------------------------------------------
    def open_image(self, image: ImageInput, name: str | None = None) -> None:
        """Make ``image`` (a path, or an (H, W, 3) uint8 array) the opened image: new framing, step 1,
        no pokes, no video, no heatmaps. A path is read here (``load_image``; it may be reduced)."""
        if isinstance(image, np.ndarray):
            array, size, given = image, (image.shape[1], image.shape[0]), image
        else:
            array, size, given = load_image(image), image_size(image), image
        self.original_image = array
        self.image_name = name if name is not None else (Path(image).name if not isinstance(image, np.ndarray) else "")
        self.step = 1
        self._show(array, size, given, letterbox=self.letterbox)

    def continue_from_last_frame(self) -> None:
        """The last generated frame becomes the new source, to chain motions (the next step)."""
        if self.video is None:
            raise UserError("there is no generated video to continue from: poke first")
        full = self.full_resolution_video()
        # at the photo's resolution when the video has it: a chain of motions stays sharp
        last = np.ascontiguousarray(self.video.frames[-1] if full is None else full[1][-1])
        self.step += 1
        self._show(last, (last.shape[1], last.shape[0]), last, letterbox=False)

    def back_to_original(self) -> bool:
        """The opened image again (step 1); False if it is already shown."""
        if self.original_image is None or self.is_original:
            return False
        self.step = 1
        image = self.original_image
        # a path-opened original keeps its full-size pixel grid: reopen it as it was
        given = self._original_input if self._original_input is not None else image
        size = self._original_size or (image.shape[1], image.shape[0])
        self._show(image, size, given, letterbox=self.letterbox)
        return True

    def _show(self, image: np.ndarray, size: tuple[int, int], given: ImageInput, letterbox: bool) -> None:
        if image is self.original_image:
            self._original_input, self._original_size = given, size
        self.image, self.source_size, self._input = image, size, given
        h, w = image.shape[:2]
        self.framing = Framing.fit(w, h, self.resolution, letterbox)
        self.pokes = []
        self.video = None
        self._clear_heatmaps()
        self._clear_parts()
        self._emit(IMAGE, FRAMING, POKES, VIDEO, HEATMAPS, PARTS)

    def set_letterbox(self, on: bool) -> None:
        """Frame the opened image whole (padded) or center-cropped; a continued frame is always square."""
        self.letterbox = on
        if not self.is_original:
            return
        h, w = self.image.shape[:2]
        self.set_framing(Framing.fit(w, h, self.framing.resolution, on))

    @property
    def can_letterbox(self) -> bool:
        """Whether the letterbox choice applies now (no image, or the opened one)."""
        return self.image is None or self.is_original

    def set_framing(self, framing: Framing) -> None:
        """Move the model's square; pokes outside it are dropped, heatmaps (of the old square) cleared."""
        self.framing = framing
        kept = [p for p in self.pokes if framing.contains(p.x, p.y)]
        dropped = len(kept) != len(self.pokes)
        self.pokes = kept
        self._clear_heatmaps()
        self._clear_parts()
        self._emit(FRAMING, POKES, HEATMAPS, PARTS,
                   note="Pokes outside the model's square were removed." if dropped else "")

    # ---- pokes -----------------------------------------------------------------------------------
    def set_pokes(self, pokes: Sequence[Poke]) -> None:
        self.pokes = list(pokes)
        self._emit(POKES)

    def add_poke(self, poke: Poke) -> None:
        self.set_pokes([*self.pokes, poke])

    def undo_poke(self) -> bool:
        """Remove the last poke; False if there was none."""
        if not self.pokes:
            return False
        self.set_pokes(self.pokes[:-1])
        return True

    def clear_pokes(self) -> bool:
        if not self.pokes:
            return False
        self.set_pokes([])
        return True

    # ---- video -----------------------------------------------------------------------------------
    def poke_request(self, pokes: Sequence[Poke] | None = None, preview: bool = False) -> PokeRequest | None:
        """The inputs of the video of ``pokes`` (default: the workspace's); None without model or image."""
        if self.poker is None or self.image is None or self.framing is None:
            return None
        pokes = self.pokes if pokes is None else pokes
        return PokeRequest(self.poker, self.image, self._input, self.framing, tuple(pokes), preview,
                           self.full_resolution)

    def accept_video(self, request: PokeRequest, video: Video | None) -> bool:
        """Take the result of ``request`` (None: no pokes, no video); False when it belongs to another image."""
        if request.image is not self.image:
            return False
        self.video = video
        if video is not None:
            self.last_inference_ms = float(video.elapsed_ms)
        self._emit(VIDEO)
        return True

    def generate(self) -> Video | None:
        """The video of the current pokes, computed here and now (the CLI; a GUI runs the request)."""
        request = self.poke_request()
        if request is None:
            raise UserError("load a model and an image first")
        self.accept_video(request, request.run())
        return self.video

    def export_request(self, path: str | Path, upscale: int = 4, overlay: bool = True, fps: float | None = None,
                       overwrite: bool = True, full_resolution: bool | None = None) -> VideoExport:
        """``full_resolution``: the workspace's choice when None."""
        if self.video is None:
            raise UserError("nothing to export yet: poke the image first")
        full = self.full_resolution if full_resolution is None else full_resolution
        return VideoExport(self.video, Path(path), upscale, overlay, fps, overwrite, full)

    def export(self, path: str | Path, upscale: int = 4, overlay: bool = True, fps: float | None = None,
               overwrite: bool = True, full_resolution: bool | None = None) -> Path:
        return self.export_request(path, upscale, overlay, fps, overwrite, full_resolution).run()

    def full_resolution_video(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(source, frames)`` of the current video at the photo's resolution when the workspace draws
        videos so and the model can (``Video.full_resolution``); None otherwise: show the model's frames."""
        return self.video.full_resolution if self.video is not None and self.full_resolution else None

    def set_full_resolution(self, on: bool) -> None:
        """Show and export videos at the photo's resolution (True) or the model's (False). The current
        video keeps how it was drawn; a GUI asks for a new one (``poke_request``) to see the change."""
        self.full_resolution = bool(on)

    # ---- heatmaps ----------------------------------------------------------------------------------
    def heatmap_request(self, x: float, y: float, n: int = 64, batch_size: int = 16, seed: int = 0,
                        magnitude_range: tuple[float, float] | None = None) -> HeatmapRequest:
        """Add the location ``(x, y)`` (image pixels) and return what its heatmap is made from."""
        if self.poker is None or self.image is None or self.framing is None:
            raise UserError("load a model and an image first")
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
