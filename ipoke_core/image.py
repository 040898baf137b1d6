"""Reading user images of any kind and framing them for the model.

``load_image`` accepts a path or an array (RGB, RGBA, gray; uint8, uint16 or float) and always
returns ``(H, W, 3) uint8``. Huge images are reduced while decoding where the format allows it
and right after otherwise, so a 12000x12000 photo never needs more than one decoded copy.

``Framing`` maps between source-image pixels and model pixels. The model sees a square:
by default the largest centred square (center crop, the user may move it), or the whole image
padded to a square (letterbox). Points map with ``to_model`` / ``to_source``.
"""
from __future__ import annotations

from ipoke_core.errors import UserError

import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ipoke_core.poke import Poke

# decoded images are reduced to at most this many pixels on the long side right away
MAX_WORKING_SIDE = 2048
# refuse images whose decoded size alone would exceed this (decompression bombs)
MAX_PIXELS = 400_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # our own limit, with a clear message, replaces PIL's warning
# ...which PIL still prints (two lines and a source path) between its limit and twice it, where we refuse anyway
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageError(UserError, ValueError):
    """An image cannot be used; the message says why."""


def _to_uint8_rgb(a: np.ndarray, what: str) -> np.ndarray:
    """Any gray/RGB/RGBA array of uint8, uint16, bool or float to ``(H, W, 3) uint8``."""
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageError(f"{what}: expected a gray, RGB or RGBA image, got an array of shape {a.shape}")
    if a.shape[0] < 2 or a.shape[1] < 2:
        raise ImageError(f"{what}: image is {a.shape[1]}x{a.shape[0]} pixels; it needs at least 2x2")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.uint16:
        a = (a.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError(f"{what}: image contains NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0:  # the model's convention, [-1, 1]
            a = (a + 1.0) / 2.0
        elif hi > 1.0 + 1e-6:  # floats holding 0..255
            a = a / 255.0
        a = (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        a = np.clip(a, 0, 255).astype(np.uint8)
    else:
        raise ImageError(f"{what}: unsupported pixel type {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.shape[2] == 4:
        # composite transparent pixels over white, like an image viewer shows them
        alpha = a[..., 3:4].astype(np.float32) / 255.0
        a = (a[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(a)


def _working_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    """``(width, height)`` of the working copy of a ``w x h`` image: long side at most ``max_side``."""
    s = max(w, h)
    if s <= max_side:
        return w, h
    f = max_side / s
    return max(2, round(w * f)), max(2, round(h * f))


def _reduce(a: np.ndarray, max_side: int) -> np.ndarray:
    h, w = a.shape[:2]
    size = _working_size(w, h, max_side)
    if size == (w, h):
        return a
    return cv2.resize(a, size, interpolation=cv2.INTER_AREA)


def _shrink(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The decoded PIL image ``im`` resized to the working ``size``, before any NumPy copy is made.

    What follows (mode conversion, alpha compositing in float) then works on the small image, and a
    huge PNG needs one full-size decoded copy only (two for transparent ones: Pillow premultiplies).
    """
    if im.size == size:
        return im
    if im.mode in ("I;16", "I;16B", "I;16L"):
        im = im.convert("I")
    elif im.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):  # palette indices (P, PA, 1) cannot be averaged
        im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
    # BOX is the exact area average (like cv2.INTER_AREA); RGBA and LA are averaged weighted by opacity
    return im.resize(size, Image.Resampling.BOX)


def _check_regular_file(path: Path) -> None:
    """Refuse what is not a plain file before opening it: reading a FIFO or a device blocks forever."""
    try:
        path.stat()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except OSError as e:  # a name longer than the file system allows, a component that is a file, a loop
        raise ImageError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")
    if not path.is_file():
        raise ImageError(f"{path}: is not a regular file (a pipe, socket or device); give an image file")


# PIL refuses a header beyond twice its limit in Image.open, before we see the size
_TOO_LARGE = f"{{path}}: too large (over {2 * MAX_PIXELS / 1e6:.0f} megapixels, limit {MAX_PIXELS / 1e6:.0f})"


def _check_pixels(path: Path, w: int, h: int) -> None:
    if w * h > MAX_PIXELS:
        raise ImageError(f"{path}: {w}x{h} is too large ({w * h / 1e6:.0f} megapixels, limit {MAX_PIXELS / 1e6:.0f})")


# EXIF orientation tag value -> the transpose that shows the image upright (as ImageOps.exif_transpose)
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
_ORIENTATION_TAG = 0x0112


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation of an opened image (1 = upright; a broken EXIF block counts as upright)."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not make a good image unreadable
        return 1
    return value if isinstance(value, int) else 1


def load_image(source: str | Path | np.ndarray, max_side: int = MAX_WORKING_SIDE) -> np.ndarray:
    """Load an image file or array as ``(H, W, 3) uint8`` RGB, long side at most ``max_side``.

    Raises:
        ImageError: missing, unreadable or non-image file, too small, or too large to decode.
    """
    if isinstance(source, np.ndarray):
        return _reduce(_to_uint8_rgb(source, "image array"), max_side)
    path = Path(source)
    _check_regular_file(path)
    try:
        with Image.open(path) as opened:
            w, h = opened.size
            _check_pixels(path, w, h)
            # JPEG can decode directly at 1/2, 1/4, 1/8 size: no full-size copy needed
            orientation = _orientation(opened)
            # 16-bit samples are scaled by their bit depth, not by the largest value present: a dark
            # 16-bit photo (max 200/65535) stays dark. PNG's mode "I" holds 16-bit samples too
            sixteen_bit = opened.mode.startswith("I;16") or (opened.mode == "I" and opened.format == "PNG")
            opened.draft("RGB", (max_side, max_side))
            # other formats decode at full size once; reduce that right away and free it
            size = _working_size(w, h, max_side)
            im = _shrink(opened, size)
            if im is not opened:
                opened.close()
            if orientation in _TRANSPOSE:  # the camera's "display rotated": how every viewer shows the photo
                im = im.transpose(_TRANSPOSE[orientation])
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                a = np.asarray(im, dtype=np.uint32)
                full = 65535.0 if sixteen_bit or a.max() > 255 else 255.0
                a = (a.astype(np.float32) / full).clip(0, 1)
            elif im.mode in ("F",):
                a = np.asarray(im, dtype=np.float32)
                a = (a - a.min()) / max(float(np.ptp(a)), 1e-12)
            elif im.mode in ("RGB", "RGBA", "L"):
                a = np.asarray(im)
            elif im.mode == "LA":
                a = np.asarray(im.convert("RGBA"))
            else:
                a = np.asarray(im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"))
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(_TOO_LARGE.format(path=path)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: not a readable image ({type(e).__name__}: {e})") from None
    return _to_uint8_rgb(a, str(path))


@dataclass(frozen=True)
class Framing:
    """The square window of a source image that the model sees, and the pixel mapping to it.

    ``(x0, y0)`` is the window's top-left corner in source pixels and ``side`` its side length;
    the window may extend past the image (letterbox), where it is padded.
    """

    width: int
    height: int
    x0: float
    y0: float
    side: float
    resolution: int

    @staticmethod
    def center_crop(width: int, height: int, resolution: int) -> Framing:
        side = float(min(width, height))
        return Framing(width, height, (width - side) / 2, (height - side) / 2, side, resolution)

    @staticmethod
    def letterbox(width: int, height: int, resolution: int) -> Framing:
        side = float(max(width, height))
        return Framing(width, height, (width - side) / 2, (height - side) / 2, side, resolution)

    @staticmethod
    def fit(width: int, height: int, resolution: int, letterbox: bool = False) -> Framing:
        """The default framing of a ``width`` x ``height`` image: letterbox (the whole image, padded) or
        center crop. The one place this choice is made (``Poker.prepare``, the workspace)."""
        return (Framing.letterbox if letterbox else Framing.center_crop)(width, height, resolution)

    def moved(self, x0: float, y0: float) -> Framing:
        """The same crop moved to ``(x0, y0)``, clamped so that it stays inside the image."""
        x0 = min(max(x0, min(0.0, self.width - self.side)), max(0.0, self.width - self.side))
        y0 = min(max(y0, min(0.0, self.height - self.side)), max(0.0, self.height - self.side))
        return Framing(self.width, self.height, x0, y0, self.side, self.resolution)

    @property
    def scale(self) -> float:
        """Model pixels per source pixel."""
        return self.resolution / self.side

    def to_model(self, x: float, y: float) -> tuple[float, float]:
        """Source pixel centre -> model pixel centre (pixel centres at integer coordinates)."""
        s = self.scale
        return (x - self.x0 + 0.5) * s - 0.5, (y - self.y0 + 0.5) * s - 0.5

    def to_source(self, x: float, y: float) -> tuple[float, float]:
        s = self.scale
        return (x + 0.5) / s + self.x0 - 0.5, (y + 0.5) / s + self.y0 - 0.5

    def poke_to_model(self, poke: Poke) -> Poke:
        x, y = self.to_model(poke.x, poke.y)
        return Poke(x, y, poke.dx * self.scale, poke.dy * self.scale)

    def poke_to_source(self, poke: Poke) -> Poke:
        x, y = self.to_source(poke.x, poke.y)
        return Poke(x, y, poke.dx / self.scale, poke.dy / self.scale)

    def contains(self, x: float, y: float) -> bool:
        """Whether source pixel (x, y) lies inside the image and the model's window."""
        mx, my = self.to_model(x, y)
        r = self.resolution
        return 0 <= x <= self.width - 1 and 0 <= y <= self.height - 1 and -0.5 <= mx <= r - 0.5 and -0.5 <= my <= r - 0.5

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Cut and resize ``image`` (H, W, 3) uint8 to the model's ``(R, R, 3) uint8`` input.

        Pixels outside the image (letterbox) are filled with the image's border colour mean.
        """
        r = self.resolution
        s = self.scale
        # affine map source -> model, consistent with to_model
        m = np.array([[s, 0, (-self.x0 + 0.5) * s - 0.5], [0, s, (-self.y0 + 0.5) * s - 0.5]], np.float64)
        fill = tuple(int(v) for v in np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).mean(0))
        # anti-alias before a strong reduction: INTER_AREA via resize, then the exact sub-pixel warp
        if s < 0.5:
            f = max(s * 2, 1e-6)
            small = cv2.resize(image, (max(2, round(image.shape[1] * f)), max(2, round(image.shape[0] * f))),
                               interpolation=cv2.INTER_AREA)
            fx, fy = small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]
            # a source pixel centre x maps to (x + 0.5) * fx - 0.5 in ``small``
            pre = np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1]])
            m = m @ np.linalg.inv(pre)
            image = small
        return cv2.warpAffine(image, m, (r, r), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def image_size(source: str | Path | np.ndarray) -> tuple[int, int]:
    """``(width, height)`` of an image file (read from its header) or array, before any reduction."""
    if isinstance(source, np.ndarray):
        return int(source.shape[1]), int(source.shape[0])
    path = Path(source)
    _check_regular_file(path)
    try:
        with Image.open(path) as im:
            w, h = im.size
            if _orientation(im) in (5, 6, 7, 8):  # shown rotated by 90 degrees: width and height swap
                w, h = h, w
    except Image.DecompressionBombError:
        raise ImageError(_TOO_LARGE.format(path=path)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: not a readable image ({e})") from None
    _check_pixels(path, w, h)
    return w, h


def write_png(image: np.ndarray, path: str | Path) -> None:
    """Write an ``(H, W, 3)`` RGB (or ``(H, W)`` grey) uint8 image as a PNG, atomically."""
    from ipoke_core.io_utils import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
