"""The workspace: one user's session, without Qt (napari's ``ViewerModel`` idea).

What the user works on: one image (and the opened original it came from), the square the model
sees (``framing``), the pokes on it, the video generated from them, the chain of "continue from
last frame" steps, the heatmap locations with their results, and the model's parts of the image.
How the user works (``Controls``): the mode, the model slot (checkpoint path, device, a load under
way), the next heatmap's settings and the playback speed. The desktop window and the CLI verbs
drive it; views listen to it and only show what it holds.

    ws = Workspace()
    ws.load_model("resources/checkpoints/plants64.safetensors")   # or Workspace(poker)
    ws.open_image("plant.png")                 # or an (H, W, 3) uint8 array and a name
    ws.set_pokes([Poke(120, 80, 15, -5)])      # in the image's pixels
    ws.generate()                              # the video, here and now (the CLI)
    ws.export("plant.mp4")

A GUI must never wait for the model: it asks for a request (``load_model_request``,
``poke_request``, ``heatmap_request``, ``parts_request``, ``export_request``: a snapshot of the
inputs, safe to run in a worker thread), runs it there, and hands the result back with
``accept_model`` / ``accept_video`` / ``accept_heatmap`` / ``accept_parts``; a result whose image is
no longer the workspace's is refused. Every change is announced to the listeners (``subscribe``)
as one ``Change`` (see ``ipoke_core.session.events``).

Coordinates: pokes and heatmap locations are in pixels of the user's image (``source_size``);
for an array that is its own pixel grid, for a file opened by path the full-size image's, even
where ``load_image`` works on a reduced copy.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ipoke_core.errors import UserError
from ipoke_core.image import Framing, image_size, load_image
from ipoke_core.poke import Poke
from ipoke_core.session.analyses import Analyses
from ipoke_core.session.controls import Controls
from ipoke_core.session.events import FRAMING, HEATMAP_SETTINGS, HEATMAPS, IMAGE, MODEL, PARTS, POKES, SLOT, VIDEO
from ipoke_core.session.requests import ImageInput, ModelLoad, PokeRequest, PokerFactory, VideoExport, load_poker

if TYPE_CHECKING:
    from ipoke_core.inference import Poker, Video

# the model resolution used to frame an image while no model is loaded
DEFAULT_RESOLUTION = 64


@dataclass(eq=False)
class Workspace(Analyses, Controls):
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
    _input: ImageInput | None = field(default=None, init=False, repr=False)  # what the model is given
    _original_input: ImageInput | None = field(default=None, init=False, repr=False)
    _original_size: tuple[int, int] | None = field(default=None, init=False, repr=False)
    opened_path: str | None = field(default=None, init=False)  # the opened image's file (None: an array)

    def __post_init__(self) -> None:
        Controls.__init__(self)
        self.heat_points, self.heatmaps, self._result_points, self.parts = [], [], [], None  # see Analyses

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
    def load_model_request(self, path: str, device: str | None = None, factory: PokerFactory = load_poker,
                           check: Callable[[Poker, str], Poker] | None = None) -> ModelLoad:
        """A load of the checkpoint ``path`` on ``device`` (default: the slot's); the slot says loading."""
        device = device or self.slot.device
        self._set_slot(device=device, loading=True)
        return ModelLoad(path, device, factory, check)

    def accept_model(self, request: ModelLoad, poker: Poker) -> None:
        """Use the loaded model: the slot names its file, heatmap pokes take the lengths it saw in training."""
        lo, hi = poker.magnitude_range()
        self.slot = dataclasses.replace(self.slot, path=request.path, device=request.device, loading=False)
        self.heatmap_settings = dataclasses.replace(self.heatmap_settings, magnitude_range=(lo, hi))
        self._emit(*self._use_poker(poker), SLOT, HEATMAP_SETTINGS)

    def model_failed(self, request: ModelLoad) -> None:
        """A load that failed or was refused: the current model (and its file) stays."""
        self._set_slot(loading=False)

    def load_model(self, path: str | Path, device: str | None = None, factory: PokerFactory = load_poker) -> Poker:
        """Load a checkpoint here and now (the CLI, tests; a GUI runs the request in a worker)."""
        request = self.load_model_request(str(path), device, factory)
        try:
            poker = request.run()
        except BaseException:
            self.model_failed(request)
            raise
        self.accept_model(request, poker)
        return poker

    def set_poker(self, poker: Poker) -> None:
        """Use ``poker``: the same window on the image, in the new model's pixel grid; heatmaps go."""
        self._emit(*self._use_poker(poker))

    def _use_poker(self, poker: Poker) -> list[str]:
        self.poker = poker
        what = [MODEL]
        if self.framing is not None:
            self.framing = dataclasses.replace(self.framing, resolution=poker.resolution)
            what.append(FRAMING)
            if self._clear_heatmaps():
                what.append(HEATMAPS)
            if self._clear_parts():
                what.append(PARTS)
        return what

    # ---- image and framing -----------------------------------------------------------------------
    def open_image(self, image: ImageInput, name: str | None = None, path: str | None = None) -> None:
        """Make ``image`` (a path, or an (H, W, 3) uint8 array) the opened image: new framing, step 1,
        no pokes, no video, no heatmaps. A path is read here (``load_image``; it may be reduced).
        ``path``: the file an array was read from, if any (``opened_path``)."""
        self.opened_path = path if isinstance(image, np.ndarray) else str(image)
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
        """``fps`` and ``full_resolution``: the session's (``fps``, ``full_resolution``) when None."""
        if self.video is None:
            raise UserError("nothing to export yet: poke the image first")
        full = self.full_resolution if full_resolution is None else full_resolution
        return VideoExport(self.video, Path(path), upscale, overlay, fps or self.fps, overwrite, full)

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
