"""Exporting generated videos: mp4 (H.264), GIF, PNG frames and paper-style frame strips.

The format follows the path: ``.mp4`` / ``.gif`` / a path without suffix (a folder of PNG
frames) / ``.png`` for a frame strip. Every write is atomic: a half-written export never
replaces a good file. Optional overlay as in the paper's figures: a red arrow from the poke
location to its target and a red dot at the target.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image

from ipoke_core.errors import UserError
from ipoke_core.image import write_png
from ipoke_core.inference import Video
from ipoke_core.io_utils import (
    atomic_path, current_umask, ensure_writable_dir, is_no_space, no_space_error, output_error, replace_file,
)
from ipoke_core.outputs import FolderOutput, check_outputs
from ipoke_core.poke import POKE_COLOR, Poke

VIDEO_FORMATS = (".mp4", ".gif")
# the only files a frame export owns inside its folder: it never touches anything else there
FRAME_FILE = re.compile(r"frame_\d{3,}\.png")


class ExportError(UserError, ValueError):
    """An export cannot be written (unknown format, bad upscale)."""


def upscale_frames(frames: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling keeps the model's pixels crisp: ``(..., H, W, 3) -> (..., H*f, W*f, 3)``."""
    if factor == 1:
        return frames
    return frames.repeat(factor, axis=-3).repeat(factor, axis=-2)


def draw_pokes(image: np.ndarray, pokes: Sequence[Poke], scale: float, arrow: bool = True) -> np.ndarray:
    """Draw poke arrows (location -> target) and target dots on a copy of ``image`` (H, W, 3) uint8.

    Poke coordinates are in model pixels; ``scale`` is output pixels per model pixel.
    """
    out = np.ascontiguousarray(image.copy())
    thick = max(1, round(scale / 2))
    for p in pokes:
        a = (int(round((p.x + 0.5) * scale - 0.5)), int(round((p.y + 0.5) * scale - 0.5)))
        tx, ty = p.target
        b = (int(round((tx + 0.5) * scale - 0.5)), int(round((ty + 0.5) * scale - 0.5)))
        if arrow:
            length = max(np.hypot(b[0] - a[0], b[1] - a[1]), 1.0)
            cv2.arrowedLine(out, a, b, POKE_COLOR, thick, cv2.LINE_AA, tipLength=min(0.35, 6 * thick / length))
        cv2.circle(out, b, max(2, thick + 1), POKE_COLOR, -1, cv2.LINE_AA)
    return out


def render_frames(video: Video, upscale: int = 1, overlay: bool = True, include_source: bool = True,
                  full_resolution: bool = True) -> np.ndarray:
    """Frames ready to save: ``(T(+1), side, side, 3) uint8``, the source first when ``include_source``.

    ``full_resolution`` (motion-first checkpoints): the video drawn at the photo's own resolution
    (``Video.full_resolution``), sharp where the object only moves; ``side`` is then the window's own
    size S, or ``R * upscale`` where that is larger (bicubic). Otherwise, and for the paper's pixel
    decoder, the model's frames with each pixel repeated ``upscale`` times (``side = R * upscale``).
    With ``overlay``, the first frame shows the poke arrow and every frame the target dot.
    """
    if upscale < 1 or upscale > 16:
        raise ExportError(f"upscale must be between 1 and 16, got {upscale}")
    full = video.full_resolution if full_resolution else None
    if full is None:
        frames = upscale_frames(video.with_source() if include_source else video.frames, upscale)
        scale = float(upscale)
    else:
        source, big = full
        frames = np.concatenate([source[None], big]) if include_source else big
        side = max(source.shape[0], video.resolution * upscale)
        if side != source.shape[0]:
            frames = np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_CUBIC) for f in frames])
        scale = side / video.resolution
    if not overlay:
        return frames
    return np.stack([draw_pokes(f, video.pokes, scale, arrow=(i == 0)) for i, f in enumerate(frames)])


def write_mp4(frames: np.ndarray, path: Path, fps: float) -> None:
    """H.264 mp4 (yuv420p, plays everywhere); ``frames`` ``(T, H, W, 3) uint8`` with even H and W."""
    t, h, w = frames.shape[:3]
    if h % 2 or w % 2:  # yuv420p needs even sizes
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        h, w = frames.shape[1:3]
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=None,
            output_params=["-crf", "16", "-preset", "fast"], macro_block_size=1, ffmpeg_log_level="error",
        )
        writer.send(None)
        for f in frames:
            writer.send(np.ascontiguousarray(f))
        writer.close()


def write_gif(frames: np.ndarray, path: Path, fps: float, loop: bool = True) -> None:
    images = [Image.fromarray(f) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(20, round(1000 / fps)), loop=0 if loop else 1, optimize=False)


def frames_output(folder: Path, n_frames: int = 0) -> FolderOutput:
    """A folder of PNG frames as an output: ``frame_000.png`` … and nothing else in it."""
    return FolderOutput(Path(folder), FRAME_FILE, tuple(frame_name(i) for i in range(n_frames)), exclusive=True)


def frame_name(i: int) -> str:
    return f"frame_{i:03d}.png"


def export_output(path: Path) -> Path | FolderOutput:
    """What an export to ``path`` writes, for the output guard: a file, or (no suffix) a frames folder."""
    return Path(path) if Path(path).suffix else frames_output(path)


def check_frame_folder(folder: Path) -> None:
    """Raise OutputError unless ``folder`` is new or holds nothing but frames of an earlier export."""
    check_outputs([frames_output(folder)], overwrite=True)


def write_png_frames(frames: np.ndarray, folder: Path) -> None:
    """``folder/frame_000.png`` ...: into a new folder (which appears complete or not at all), or into
    an existing one that holds nothing but frames of an earlier export, which are replaced. A folder
    with any other file in it is refused: an export never deletes what it did not write."""
    parent = folder.parent
    ensure_writable_dir(parent)
    check_frame_folder(folder)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    except OSError as e:  # a folder that takes no new entries (/proc, /sys), or a full disk
        raise output_error(folder, e) from None
    os.chmod(tmp, 0o777 & ~current_umask())
    try:
        try:
            for i, f in enumerate(frames):
                Image.fromarray(f).save(tmp / frame_name(i))
        except OSError as e:  # all frames are written aside first: a full disk leaves the folder untouched
            if is_no_space(e, parent):
                raise no_space_error(folder) from None
            raise
        if not folder.exists():
            os.replace(tmp, folder)
            return
        names = [frame_name(i) for i in range(len(frames))]
        for name in names:
            replace_file(tmp / name, folder / name)
        frames_output(folder).remove_stale(names)  # frames of a longer earlier export
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def frame_strip(video: Video, upscale: int = 2, overlay: bool = True, gap: int = 2, every: int = 1,
                full_resolution: bool = True) -> np.ndarray:
    """A paper-style strip: the source (with the poke arrow) then every ``every``-th frame, side by side."""
    frames = render_frames(video, upscale, overlay, full_resolution=full_resolution)
    frames = np.concatenate([frames[:1], frames[1:][every - 1::every]])
    h, w = frames.shape[1:3]
    strip = np.full((h, len(frames) * (w + gap) - gap, 3), 255, np.uint8)
    for i, f in enumerate(frames):
        strip[:, i * (w + gap):i * (w + gap) + w] = f
    return strip


def export_video(video: Video, path: str | Path, upscale: int = 4, overlay: bool = True,
                 fps: float | None = None, overwrite: bool = True, full_resolution: bool = True) -> Path:
    """Save ``video`` by the path's kind: ``.mp4``, ``.gif``, ``.png`` (frame strip) or a folder of PNG frames.
    ``full_resolution``: at the photo's own resolution where the model can draw it (:func:`render_frames`).

    ``overwrite=False`` refuses an existing path (the CLI without ``--overwrite``); a frame folder is
    only ever written over frames of an earlier export (see :func:`write_png_frames`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    check_outputs([export_output(path)], overwrite=overwrite)
    fps = fps or video.fps
    if suffix == ".png":
        write_png(frame_strip(video, upscale, overlay, full_resolution=full_resolution), path)
        return path
    if suffix and suffix not in VIDEO_FORMATS:
        raise ExportError(f"cannot export to {path.name}: unknown extension {suffix!r} (use .mp4, .gif, .png or a folder name)")
    frames = render_frames(video, upscale, overlay, full_resolution=full_resolution)
    if suffix == ".mp4":
        write_mp4(frames, path, fps)
    elif suffix == ".gif":
        write_gif(frames, path, fps)
    else:
        write_png_frames(frames, path)
    return path
