"""Reading real videos (files via imageio-ffmpeg, or folders of frame images) as square frames.

Every reader yields ``(R, R, 3) uint8`` RGB frames already center-cropped to the largest centred
square and resized to R (area interpolation; ffmpeg does this for video files, so a 4K video is
never held at full size). Problems that still leave usable frames (a file that stops decoding
half way, an unreadable image in a frame folder) end the video early and are reported in
``VideoFrames.warnings``; problems that leave nothing usable raise ``VideoError``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ipoke_core.errors import UserError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".webm", ".mkv", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class VideoError(UserError, ValueError):
    """A video or frame folder cannot be used at all; the message names it and says why."""


@dataclass
class VideoFrames:
    frames: np.ndarray  # (N, R, R, 3) uint8
    fps: float | None
    source_size: tuple[int, int] | None  # (width, height) before cropping
    warnings: list[str] = field(default_factory=list)


def natural_key(name: str) -> list:
    """Sort key that puts frame_2 before frame_10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def center_square(img: np.ndarray, size: int) -> np.ndarray:
    """Largest centred square of ``img (H, W, 3)``, resized to ``size x size``."""
    h, w = img.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = img[y0:y0 + s, x0:x0 + s]
    interp = cv2.INTER_AREA if s >= size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interp) if s != size else np.ascontiguousarray(crop)


def read_video_file(path: Path, size: int, frame_step: int = 1, max_frames: int | None = None) -> VideoFrames:
    """Decode a video file with imageio-ffmpeg, keeping every ``frame_step``-th frame."""
    import logging

    import imageio_ffmpeg

    # imageio-ffmpeg logs a warning whenever the output size differs from the source: here always
    logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)
    vf = f"crop=min(iw\\,ih):min(iw\\,ih),scale={size}:{size}:flags=area"
    frames: list[np.ndarray] = []
    warnings: list[str] = []
    meta: dict = {}
    try:
        gen = imageio_ffmpeg.read_frames(str(path), output_params=["-vf", vf])
        meta = next(gen)
    except (RuntimeError, OSError, StopIteration) as e:
        raise VideoError(f"{path}: cannot be decoded as a video ({_first_line(e)})") from None
    nbytes = size * size * 3
    k = 0
    try:
        for raw in gen:
            if len(raw) != nbytes:
                warnings.append(f"{path}: frame {k} is truncated; stopped there")
                break
            if k % frame_step == 0:
                frames.append(np.frombuffer(raw, np.uint8).reshape(size, size, 3).copy())
                if max_frames is not None and len(frames) >= max_frames:
                    break
            k += 1
    except (RuntimeError, OSError) as e:
        warnings.append(f"{path}: decoding failed after {k} frames ({_first_line(e)}); kept the frames before")
    finally:
        gen.close()
    if not frames:
        raise VideoError(f"{path}: no frame could be decoded")
    expected = float(meta.get("duration") or 0) * float(meta.get("fps") or 0)
    if max_frames is None and not warnings and expected > 2 and k < 0.9 * expected - 1:
        warnings.append(f"{path}: only {k} of about {expected:.0f} frames could be decoded (truncated or damaged "
                        "file?); kept the frames before the damage")
    size_wh = tuple(meta.get("source_size") or meta.get("size") or ()) or None
    fps = float(meta["fps"]) if meta.get("fps") else None
    return VideoFrames(np.stack(frames), fps, size_wh, warnings)  # type: ignore[arg-type]


def list_frame_images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                  key=lambda p: natural_key(p.name))


def read_frame_folder(folder: Path, size: int, frame_step: int = 1) -> VideoFrames:
    """Read a folder of frame images (natural sort order), every ``frame_step``-th one.

    All frames must have the size of the first; an unreadable image or one of another size ends
    the video there (with a warning), so that no sample mixes two framings.
    """
    paths = list_frame_images(folder)[::frame_step]
    if not paths:
        raise VideoError(f"{folder}: no image files")
    frames: list[np.ndarray] = []
    warnings: list[str] = []
    first_shape = None
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            warnings.append(f"{p}: unreadable image; {folder.name} ends before it")
            break
        if first_shape is None:
            first_shape = img.shape
        elif img.shape != first_shape:
            warnings.append(f"{p}: frame of size {img.shape[1]}x{img.shape[0]} differs from the first frame's "
                            f"{first_shape[1]}x{first_shape[0]}; {folder.name} ends before it")
            break
        frames.append(center_square(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), size))
    if not frames:
        raise VideoError(f"{folder}: the first frame {paths[0].name} cannot be read")
    wh = (first_shape[1], first_shape[0]) if first_shape is not None else None
    return VideoFrames(np.stack(frames), None, wh, warnings)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[-1][:200] if text else type(e).__name__
