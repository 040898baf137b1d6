"""Exporting generated videos: mp4 (H.264), GIF, PNG frames and paper-style frame strips.

The format follows the path: ``.mp4`` / ``.gif`` / a path without suffix (a folder of PNG
frames) / ``.png`` for a frame strip. Every write is atomic: a half-written export never
replaces a good file. Optional overlay as in the paper's figures: a red arrow from the poke
location to its target and a red dot at the target.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image

from ipoke_core.errors import UserError
from ipoke_core.inference import Video
from ipoke_core.io_utils import OutputError, atomic_path, current_umask, ensure_writable_dir
from ipoke_core.poke import Poke

VIDEO_FORMATS = (".mp4", ".gif")
POKE_COLOR = (230, 30, 30)


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


def render_frames(video: Video, upscale: int = 1, overlay: bool = True, include_source: bool = True) -> np.ndarray:
    """Frames ready to save: ``(T(+1), R*up, R*up, 3) uint8``, the source first when ``include_source``.

    With ``overlay``, the first frame shows the poke arrow and every frame the target dot.
    """
    if upscale < 1 or upscale > 16:
        raise ExportError(f"upscale must be between 1 and 16, got {upscale}")
    frames = upscale_frames(video.with_source() if include_source else video.frames, upscale)
    if not overlay:
        return frames
    return np.stack([draw_pokes(f, video.pokes, upscale, arrow=(i == 0)) for i, f in enumerate(frames)])


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


def write_png_frames(frames: np.ndarray, folder: Path) -> None:
    """``folder/frame_000.png`` ...; the folder appears complete or not at all."""
    parent = folder.parent
    ensure_writable_dir(parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    try:
        for i, f in enumerate(frames):
            Image.fromarray(f).save(tmp / f"frame_{i:03d}.png")
        if folder.exists():
            if not folder.is_dir():
                raise OutputError(f"{folder} exists and is not a folder")
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_png(image: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def frame_strip(video: Video, upscale: int = 2, overlay: bool = True, gap: int = 2, every: int = 1) -> np.ndarray:
    """A paper-style strip: the source (with the poke arrow) then every ``every``-th frame, side by side."""
    frames = render_frames(video, upscale, overlay)
    frames = np.concatenate([frames[:1], frames[1:][every - 1::every]])
    h, w = frames.shape[1:3]
    strip = np.full((h, len(frames) * (w + gap) - gap, 3), 255, np.uint8)
    for i, f in enumerate(frames):
        strip[:, i * (w + gap):i * (w + gap) + w] = f
    return strip


def export_video(video: Video, path: str | Path, upscale: int = 4, overlay: bool = True,
                 fps: float | None = None) -> Path:
    """Save ``video`` by the path's kind: ``.mp4``, ``.gif``, ``.png`` (frame strip) or a folder of PNG frames."""
    path = Path(path)
    suffix = path.suffix.lower()
    fps = fps or video.fps
    if suffix == ".png":
        write_png(frame_strip(video, upscale, overlay), path)
        return path
    if suffix and suffix not in VIDEO_FORMATS:
        raise ExportError(f"cannot export to {path.name}: unknown extension {suffix!r} (use .mp4, .gif, .png or a folder name)")
    frames = render_frames(video, upscale, overlay)
    if suffix == ".mp4":
        write_mp4(frames, path, fps)
    elif suffix == ".gif":
        write_gif(frames, path, fps)
    else:
        write_png_frames(frames, path)
    return path
