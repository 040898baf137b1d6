"""Inference: load a checkpoint once, then poke images.

    poker = Poker.from_checkpoint("resources/checkpoints/plants64")
    video = poker.poke("plant.png", Poke(x=120, y=80, dx=15, dy=-5))
    video.frames   # (T, R, R, 3) uint8, the generated frames 1..T

Pokes given to ``poke`` / ``poke_batch`` are in pixels of the user's image; the image is framed
(center crop by default, letterbox optional, or any ``Framing``) and pokes are mapped into
model pixels with the same transform. ``generate`` is the low-level batched call on an already
framed source with pokes in model pixels (used by the heatmaps).
"""
from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ipoke_core.checkpoint import load_checkpoint
from ipoke_core.device import resolve_amp, resolve_device
from ipoke_core.errors import UserError
from ipoke_core.image import Framing, image_size, load_image
from ipoke_core.model import IPoke
from ipoke_core.poke import Poke, PokeError, rasterize_batch
from ipoke_core.progress import CancelToken, ProgressFn, check, report

class NonFiniteOutputError(UserError, ArithmeticError):
    """The model's output holds NaN or infinite values: never shown, exported or measured."""


# a generated video whose frames differ from the source by less than this (mean |diff| on 0..255)
# is reported as still: the model treated the poke as a background poke (pixel-decoder checkpoints,
# which draw no motion of their own)
STILL_THRESHOLD = 1.5
# motion-first checkpoints: a pixel "moves" when it goes farther than MOVING_PX model px in some frame,
# and a video in which less than STILL_SHARE of the image moves is reported as still. Measured on
# plants64 / plant_1: background pokes move 5-7 % of the image (the texture around the poke), pokes
# on the plant 22-35 %, so the rule has a margin on both sides where the mean |difference| (1.35 and
# 1.46 against a 1.5 threshold for drags of 8 and 8.3 px at (105, 40), 23 % of the image moving) had none
MOVING_PX = 0.5
STILL_SHARE = 0.10


@dataclass
class Video:
    """A generated video and how it was made.

    ``frames``: ``(T, R, R, 3) uint8``, frames 1..T (the source is frame 0).
    ``source``: ``(R, R, 3) uint8``, the model's input. ``pokes``: in model pixels.
    ``flow``: ``(T, R, R, 2) float32``, the model's own motion (motion-first checkpoints; None for the
    paper's pixel decoder): backward displacement in model pixels, ``frames[t](p) ~ source(p + flow[t](p))``.
    ``full_resolution``: the same video at the photo's own resolution (motion-first checkpoints).
    """

    frames: np.ndarray
    source: np.ndarray
    pokes: list[Poke]
    framing: Framing
    fps: float = 10.0
    elapsed_ms: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    flow: np.ndarray | None = None
    mask: np.ndarray | None = None  # (T, R, R) float32, the weight of the warped source (with flow)
    image: np.ndarray | None = None  # (H, W, 3) uint8, the working image ``framing`` frames (for full_resolution)

    @functools.cached_property
    def full_resolution(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(source (S, S, 3), frames (T, S, S, 3)) uint8``: the video drawn again at the window's own
        size S (``ipoke_core.full_resolution``), sharp where the object only moves; None when the model
        draws no motion of its own, the image is not at hand, or the window is no larger than the model's."""
        from ipoke_core.full_resolution import full_side, render_full_resolution

        if self.flow is None or self.mask is None or self.image is None or full_side(self.framing) <= self.resolution:
            return None
        return render_full_resolution(self.image, self.framing, self.source, self.frames, self.flow, self.mask)

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def resolution(self) -> int:
        return int(self.source.shape[0])

    def with_source(self) -> np.ndarray:
        """``(T + 1, R, R, 3) uint8``: the source followed by the generated frames."""
        return np.concatenate([self.source[None], self.frames], 0)

    @property
    def motion(self) -> float:
        """Mean absolute difference between the last frame and the source (0..255)."""
        return float(np.abs(self.frames[-1].astype(np.int16) - self.source.astype(np.int16)).mean())

    @functools.cached_property
    def _motion_lengths(self) -> np.ndarray | None:
        """``(R, R)``: how far each pixel goes in its farthest frame, model px (None without the model's motion).
        Computed once: the still test, the badge and the CLI line all read it."""
        return None if self.flow is None else np.sqrt((self.flow.astype(np.float32) ** 2).sum(-1)).max(0)

    @property
    def largest_motion_px(self) -> float | None:
        """How far the farthest-moving pixel goes in any frame, model px (None without the model's own motion)."""
        return None if self._motion_lengths is None else float(self._motion_lengths.max())

    @property
    def moving_share(self) -> float | None:
        """The share of the image that moves more than ``MOVING_PX`` in some frame (None without the model's motion)."""
        return None if self._motion_lengths is None else float((self._motion_lengths > MOVING_PX).mean())

    @property
    def is_still(self) -> bool:
        """True when the object did not move (e.g. a poke on the background): less than ``STILL_SHARE`` of
        the image moves, or, for checkpoints without their own motion, the frames barely change."""
        share = self.moving_share
        return self.motion < STILL_THRESHOLD if share is None else share < STILL_SHARE

    def movement(self) -> str:
        """What the video does, in words: "12 % of the image moves, up to 3.4 px" (model px)."""
        share = self.moving_share
        if share is None:
            return f"the frames differ from the input by {self.motion:.1f} grey levels on average"
        if share == 0:
            return f"no pixel moves more than {MOVING_PX:g} px"
        return f"{100 * share:.0f} % of the image moves more than {MOVING_PX:g} px, up to {self.largest_motion_px:.1f} px"


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """``(..., H, W, 3) uint8`` -> ``(..., 3, H, W) float32`` in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1.0)
    return t.movedim(-1, -3)


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """``(..., 3, H, W)`` in [-1, 1] -> ``(..., H, W, 3) uint8``."""
    x = frames.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.movedim(-3, -1).cpu().numpy()


def to_working(framing: Framing, src_size: tuple[int, int], x: float, y: float) -> tuple[float, float]:
    """A point in pixels of the caller's image (``src_size`` = its width, height) -> pixels of the working
    copy ``framing`` was made for, which ``load_image`` may have reduced.

    The point must already be inside the caller's image. It is clamped to the working copy, because the
    last pixels of a reduced image can land a fraction past the copy's last pixel.
    """
    s = framing.width / src_size[0]
    return min(max(x * s, 0.0), framing.width - 1.0), min(max(y * s, 0.0), framing.height - 1.0)


class Poker:
    """A loaded model ready to poke images. Thread-compatible: one call at a time per Poker."""

    def __init__(self, model: IPoke, meta: dict[str, Any] | None = None, device: str | torch.device = "auto",
                 amp: str = "auto"):
        self.device = resolve_device(device)
        # autocast dtype (None = fp32): bf16 on a GPU, and on CPUs with bf16 units (device.resolve_amp)
        self.amp_dtype = resolve_amp(amp, self.device)
        # channels-last is the layout oneDNN (CPU) and cuDNN (GPU) convolutions prefer (no measurable gain at
        # these widths on our 2-core CPU, issue 14; kept for the GPU)
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        self.meta = dict(meta or {})
        self.config = model.cfg
        # (image key, (part masks, object mask)) of the last source: live preview pokes one image again
        # and again, and the mask nets need only the image
        self._mask_cache: tuple[bytes, tuple[torch.Tensor | None, torch.Tensor | None]] | None = None
        if self.predicts_motion:
            # render sharper than training does: bicubic keeps sub-pixel shifts crisp (plants64 on 40
            # test clips: last-frame sharpness 55 -> 77 % of the source's, PSNR 28.4 -> 28.0 dB,
            # motion error unchanged at 1.00 px)
            self.model.decoder.resample = "bicubic"

    def compile(self, backend: str = "inductor", freeze: bool = True) -> None:
        """``torch.compile`` the animation path, ``IPoke.animate`` (what every ``Poker`` call runs).

        Compiling the module itself would compile only its ``forward``, which ``Poker`` never calls: the
        benchmark's "compiled" rows were eager until 2026-12-07. ``freeze`` (inductor) folds the weights
        into the compiled graph as constants and pre-packs them for oneDNN (plants64, one poke in bf16 on
        the 2-core Xeon: 18-29 ms frozen, 22 ms without freezing, 35 ms eager; docs/performance.md);
        weights changed after the first call are then not seen, which a ``Poker`` never does. The first
        call at each batch size compiles: 70-104 s on two cores with freezing in every new process, ~10 s
        without it once inductor's on-disk cache holds the graph."""
        options = {"freezing": freeze} if backend == "inductor" else None
        self.model.animate = torch.compile(self.model.animate, backend=backend, options=options)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "auto",
                        allow_unverified: bool = False, amp: str = "auto") -> Poker:
        """Load a checkpoint; ``allow_unverified`` accepts a sidecar without a weights checksum."""
        model, meta = load_checkpoint(path, "cpu", allow_unverified=allow_unverified)
        meta["path"] = str(path)
        return cls(model, meta, device, amp)

    @property
    def resolution(self) -> int:
        return self.config.resolution

    @property
    def predicts_motion(self) -> bool:
        """True for motion-first checkpoints: the model outputs its own dense motion."""
        return self.model.predicts_motion

    @property
    def trained(self) -> bool:
        return bool(self.meta.get("trained", False))

    @property
    def seq_len(self) -> int:
        return self.config.seq_len

    def magnitude_range(self) -> tuple[float, float]:
        """Typical poke lengths in model pixels, from the training data (fallback: 5-25 % of the size)."""
        lo_hi = self.meta.get("data_stats", {}).get("poke_magnitude_px")
        if lo_hi and len(lo_hi) == 2 and 0 < lo_hi[0] < lo_hi[1]:
            return float(lo_hi[0]), float(lo_hi[1])
        r = self.resolution
        return 0.05 * r, 0.25 * r

    # ---- framing -------------------------------------------------------------------------
    def prepare(self, image: str | Path | np.ndarray, framing: Framing | None = None,
                letterbox: bool = False) -> tuple[np.ndarray, Framing]:
        """Frame an image for the model: ``(source (R, R, 3) uint8, framing)``.

        ``framing`` must have been made for an image of this size (e.g. by a previous call).
        """
        img = load_image(image)
        h, w = img.shape[:2]
        if framing is None:
            framing = Framing.fit(w, h, self.resolution, letterbox)
        elif (framing.width, framing.height) != (w, h) or framing.resolution != self.resolution:
            # a framing from the caller's full-size image: rescale it to the working copy
            s = w / framing.width
            framing = Framing(w, h, framing.x0 * s, framing.y0 * s, framing.side * s, self.resolution)
        return framing.apply(img), framing

    def _pokes_to_model(self, pokes: Sequence[Poke], framing: Framing, src_size: tuple[int, int]) -> list[Poke]:
        """Validate pokes given in the caller's image pixels and map them to model pixels."""
        w, h = src_size
        s = framing.width / w  # working copy may be a reduced version of the caller's image
        out = []
        for p in pokes:
            p.validate(w, h)
            x, y = to_working(framing, src_size, p.x, p.y)
            q = Poke(x, y, p.dx * s, p.dy * s)
            if not framing.contains(q.x, q.y):
                raise PokeError(
                    f"poke location ({p.x:g}, {p.y:g}) is outside the square the model sees; move the crop or use letterbox"
                )
            out.append(framing.poke_to_model(q))
        return out

    # ---- generation ----------------------------------------------------------------------
    def _animate(self, source: np.ndarray, pokes_per_video: Sequence[Sequence[Poke]], batch_size: int,
                 progress: ProgressFn | None, cancel: CancelToken | None, last_only: bool,
                 consume: Any, motion_only: bool = False) -> None:
        """Run the model in chunks of ``batch_size`` videos; ``consume(start, Animation)`` per chunk.
        ``motion_only``: the motion without the frames (``Animation.video`` None)."""
        r = self.resolution
        src = self._source_tensor(source)
        cfg = self.config
        n = len(pokes_per_video)
        amp_dtype = self.amp_dtype
        parts, movable = self._masks_of(source, src)  # once per image, not once per video
        for start in range(0, n, batch_size):
            check(cancel)
            chunk = pokes_per_video[start:start + batch_size]
            poke_map = rasterize_batch(chunk, r, cfg.poke_radius, cfg.poke_mode, cfg.poke_scale).to(self.device)
            img = src.expand(len(chunk), -1, -1, -1).contiguous(memory_format=torch.channels_last)
            poke_map = poke_map.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                anim = self.model.animate(img, poke_map, last_only=last_only,
                                          parts=None if parts is None else parts.expand(len(chunk), -1, -1, -1),
                                          movable=None if movable is None else movable.expand(len(chunk), -1, -1, -1),
                                          motion_only=motion_only)
            self._check_finite(anim)
            consume(start, anim)
            report(progress, min(start + batch_size, n), n, "generating videos")

    @torch.inference_mode()
    def generate(self, source: np.ndarray, pokes_per_video: Sequence[Sequence[Poke]], batch_size: int = 16,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 last_only: bool = False, with_flow: bool = False) -> Any:
        """One video per list of pokes, all from the same framed source.

        Args:
            source: ``(R, R, 3) uint8``.
            pokes_per_video: pokes in model pixels; a list per video (an empty list is a still input).
            last_only: decode only the last frame (what heatmaps need), T = 1 in the result.
            with_flow: also return the model's backward flow (motion-first checkpoints only).
        Returns:
            ``(N, T, R, R, 3) uint8``; with ``with_flow`` the pair ``(videos, flow (N, T, R, R, 2) float32)``.
        """
        if with_flow and not self.predicts_motion:
            raise ValueError("this checkpoint (pixel decoder) predicts no motion; use DIS flow on its frames")
        out, flows, _ = self._generate(source, pokes_per_video, batch_size, progress, cancel, last_only, with_flow)
        return (out, flows) if with_flow else out

    @torch.inference_mode()
    def _generate(self, source: np.ndarray, pokes_per_video: Sequence[Sequence[Poke]], batch_size: int,
                  progress: ProgressFn | None, cancel: CancelToken | None, last_only: bool,
                  motion: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(videos (N, T, R, R, 3) uint8, flow (N, T, R, R, 2) float32, mask (N, T, R, R) float32)``,
        the last two with ``motion`` only (else None)."""
        r, n = self.resolution, len(pokes_per_video)
        t = 1 if last_only else self.config.seq_len
        out = np.empty((n, t, r, r, 3), np.uint8)
        flows = np.empty((n, t, r, r, 2), np.float32) if motion else None
        masks = np.empty((n, t, r, r), np.float32) if motion else None

        def consume(start: int, anim: Any) -> None:
            end = start + anim.video.shape[0]
            out[start:end] = to_uint8(anim.video)
            if motion:
                flows[start:end] = anim.flow.float().movedim(2, -1).cpu().numpy()
                masks[start:end] = anim.mask.float()[:, :, 0].cpu().numpy()

        self._animate(source, pokes_per_video, batch_size, progress, cancel, last_only, consume)
        return out, flows, masks

    @torch.inference_mode()
    def _read_masks(self, net: torch.nn.Module | None, src: torch.Tensor) -> torch.Tensor | None:
        """A mask net's output for ``src (1, 3, R, R)``: the part masks ``(1, K, R, R)`` or the object
        mask ``(1, 1, R, R)``; None for a checkpoint without that net."""
        if net is None:
            return None
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            return net(src)

    def _masks_of(self, source: np.ndarray, src: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(part masks, object mask)`` of ``source`` (each None without its net), computed once and reused
        while the image stays the same (the object mask cost 5 ms of a 39 ms poke on the CPU)."""
        if self.model.part_masks is None and self.model.object_mask is None:
            return None, None
        key = hashlib.blake2b(np.ascontiguousarray(source).tobytes(), digest_size=16).digest()
        cached = self._mask_cache  # one read: another thread may replace it meanwhile
        if cached is not None and cached[0] == key:
            return cached[1]
        masks = (self._read_masks(self.model.part_masks, src), self._read_masks(self.model.object_mask, src))
        self._mask_cache = (key, masks)
        return masks

    def _source_tensor(self, source: np.ndarray) -> torch.Tensor:
        """``source (R, R, 3) uint8`` -> ``(1, 3, R, R)`` on the model's device; another shape is a ValueError."""
        r = self.resolution
        if source.shape != (r, r, 3):
            raise ValueError(f"source must be ({r}, {r}, 3), got {source.shape}")
        return to_tensor(source)[None].to(self.device)

    @property
    def has_part_masks(self) -> bool:
        """True for checkpoints that move the object by parts (``model.part_masks``): the masks are the
        model's own decomposition of its input."""
        return self.model.part_masks is not None

    @property
    def has_object_mask(self) -> bool:
        """True for checkpoints that move only what they see as the object (``model.object_mask``)."""
        return self.model.object_mask is not None

    def object_mask(self, source: np.ndarray) -> np.ndarray:
        """How movable each pixel of ``source (R, R, 3) uint8`` is: ``(R, R) float32`` in (0, 1)."""
        if not self.has_object_mask:
            raise ValueError("this checkpoint has no object mask (model.object_mask = false)")
        return self._read_masks(self.model.object_mask, self._source_tensor(source))[0, 0].float().cpu().numpy()

    def part_masks(self, source: np.ndarray) -> np.ndarray:
        """The model's soft part masks of ``source (R, R, 3) uint8``: ``(K, R, R) float32``, summing to 1 over K."""
        if not self.has_part_masks:
            raise ValueError("this checkpoint has no part masks (model.part_masks = 0)")
        return self._read_masks(self.model.part_masks, self._source_tensor(source))[0].float().cpu().numpy()

    @torch.inference_mode()
    def last_motion(self, source: np.ndarray, pokes: Sequence[Poke], batch_size: int = 16) -> np.ndarray:
        """Where every source pixel has moved by the last frame, one poke per video, read from the
        model's own motion (no frames drawn, no optical flow): ``(N, R, R, 2) float32`` model pixels.

        Motion-first checkpoints only; what heatmaps need. With an object mask
        (``model.object_mask``), what the mask calls background does not move: the model draws it
        covered by a part that moves over it, never moving itself (inverting the backward flow alone
        would give a covered pixel the motion of the part that covers it).
        """
        from ipoke_core.model.object_mask import movable_where
        from ipoke_core.model.warp import invert_backward_flow

        if not self.predicts_motion:
            raise ValueError("this checkpoint (pixel decoder) predicts no motion; use DIS flow on its frames")
        r = self.resolution
        out = np.empty((len(pokes), r, r, 2), np.float32)

        def consume(start: int, anim: Any) -> None:
            fwd = invert_backward_flow(anim.flow[:, -1])
            if anim.movable is not None:
                fwd = fwd * movable_where(anim.movable, self.model.cfg.movable_threshold)
            out[start:start + fwd.shape[0]] = fwd.movedim(1, -1).cpu().numpy()

        self._animate(source, [[p] for p in pokes], batch_size, None, None, True, consume, motion_only=True)
        return out

    def _check_finite(self, anim: Any) -> None:
        """Refuse NaN or infinite frames or motion: cast to uint8 they become a black video, and an
        evaluation of them a plausible-looking number (issue 33: weights x1e30, a poke gain of 1e300)."""
        for name, values in (("frames", anim.video), ("motion", getattr(anim, "flow", None))):
            if values is not None and not bool(torch.isfinite(values).all()):
                where = self.meta.get("path", "this checkpoint")
                raise NonFiniteOutputError(f"the model computed NaN or infinite {name} ({where}): its weights or "
                                           "its sidecar's values are out of range; use another checkpoint")

    def poke(self, image: str | Path | np.ndarray, pokes: Poke | Sequence[Poke], framing: Framing | None = None,
             letterbox: bool = False) -> Video:
        """Generate the video for one or several simultaneous pokes (in the image's pixels)."""
        return self.poke_batch(image, [[pokes] if isinstance(pokes, Poke) else list(pokes)], framing, letterbox)[0]

    def poke_batch(self, image: str | Path | np.ndarray, pokes_per_video: Sequence[Sequence[Poke]],
                   framing: Framing | None = None, letterbox: bool = False, batch_size: int = 16,
                   progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> list[Video]:
        """Many videos of the same image in batched forward passes; pokes in the image's pixels."""
        src_size = image_size(image)  # pokes are in these pixels, even if the image is reduced to work on
        img = load_image(image)
        source, framing = self.prepare(img, framing, letterbox)
        if not pokes_per_video or any(len(p) == 0 for p in pokes_per_video):
            raise PokeError("every video needs at least one poke")
        model_pokes = [self._pokes_to_model(p, framing, src_size) for p in pokes_per_video]
        t0 = time.perf_counter()
        frames, flows, masks = self._generate(source, model_pokes, batch_size, progress, cancel, False,
                                              self.predicts_motion)
        ms = (time.perf_counter() - t0) * 1000 / len(model_pokes)
        n = len(model_pokes)
        flows = [None] * n if flows is None else flows
        masks = [None] * n if masks is None else masks
        return [Video(f, source, p, framing, elapsed_ms=ms, flow=fl, mask=m, image=img)
                for f, p, fl, m in zip(frames, model_pokes, flows, masks)]


def load_poker(path: str | Path, device: str | torch.device = "auto", allow_unverified: bool = False,
               warn: Callable[[str], object] | None = None, amp: str = "auto") -> Poker:
    """Load a checkpoint to poke with: the one loader of the CLI verbs and the app.

    ``warn`` (if given) is told when the checkpoint is untrained: random weights, its videos are noise.
    """
    poker = Poker.from_checkpoint(path, device, allow_unverified=allow_unverified, amp=amp)
    if not poker.trained and warn is not None:
        warn(f"{path} is an UNTRAINED (randomly initialised) checkpoint: its videos are noise")
    return poker
