"""Rendering articulated bodies with anti-aliased OpenCV drawing over static textured backgrounds.

A body is turned once into a list of drawing primitives (lines, filled polygons, discs), each
attached to one part and described by points in that part's local frame. Per frame, all points
of all primitives move to image coordinates in one vectorised step, then each primitive is one
OpenCV call (``cv2.LINE_AA`` with 4 fractional bits, so sub-pixel motion is visible). The same
primitives drawn without anti-aliasing, with the part id as "colour", give the part map.

Pixel convention: pixel (x, y) has its centre at the integer coordinates (x, y), like DIS flow.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ipoke_core.data.synthetic.body import HEAD, LEAF, LIMB, PELVIS, STEM, TORSO, Body

SHIFT = 4
ONE = 1 << SHIFT


@dataclass
class Primitive:
    kind: str  # "line" | "poly" | "disc"
    part: int
    start: int  # slice into the concatenated local points
    stop: int
    colour: tuple[float, float, float]
    thickness: int = 1  # lines: pixel width; polys: -1 = filled, else outline width
    radius: float = 0.0  # discs, pixels
    label: bool = True  # counts for the part map

    @property
    def radius_fx(self) -> int:
        return int(round(self.radius * ONE))


class Drawing:
    """All primitives of a body plus their local points, ready to be posed and drawn."""

    def __init__(self, body: Body, order: list[int], light: np.ndarray) -> None:
        self.body = body
        self.prims: list[Primitive] = []
        self._uv: list[np.ndarray] = []
        self._n = 0
        starts, angles = body.kinematics()
        centers = body.centers(starts, angles)
        for i in order:
            x, y = np.clip(centers[i], 0, light.shape[0] - 1).astype(int)
            self._add_part(i, float(light[y, x]))
        uv = np.concatenate(self._uv) if self._uv else np.zeros((0, 2))
        self.u, self.v = uv[:, 0], uv[:, 1]
        self.pidx = np.concatenate([np.full(len(a), p.part) for a, p in zip(self._uv, self.prims)]).astype(int)

    # -- building -------------------------------------------------------------------------
    def _prim(self, kind: str, part: int, uv, colour, lit: float, **kw) -> None:
        uv = np.asarray(uv, np.float64).reshape(-1, 2)
        c = tuple(float(v) for v in np.clip(np.asarray(colour, np.float64) * lit, 0, 255))
        self.prims.append(Primitive(kind, part, self._n, self._n + len(uv), c, **kw))
        self._uv.append(uv)
        self._n += len(uv)

    def _add_part(self, i: int, lit: float) -> None:
        b, st = self.body, self.body.style[i]
        ln, wd, k = float(b.length[i]), float(b.width[i]), int(b.kind[i])
        thick = max(1, int(round(wd)))
        if k == STEM:
            self._prim("line", i, [(0, 0), (ln, 0)], st["colour"], lit, thickness=thick)
            if wd >= 2.5:
                self._prim("line", i, [(0, -wd * 0.22), (ln, -wd * 0.22)], st["highlight"], lit,
                           thickness=max(1, int(round(wd * 0.3))), label=False)
        elif k == LEAF:
            u0 = 0.12 * ln
            u = np.linspace(u0, ln, 9)
            half = wd / 2 * np.clip(np.sin(np.pi * (u - u0) / (ln - u0)), 0, 1) ** st["point"]
            top = np.stack([u, -half], 1)
            bottom = np.stack([u, half], 1)[::-1]
            mid = np.stack([u, np.zeros_like(u)], 1)[::-1]
            self._prim("line", i, [(0, 0), (u0 + 1, 0)], st["shade"], lit, thickness=max(1, int(round(wd * 0.12))))
            self._prim("poly", i, np.concatenate([top, bottom]), st["colour"], lit, thickness=-1)
            # the lower half a shade darker and a light midrib: texture that optical flow can lock onto
            self._prim("poly", i, np.concatenate([mid, bottom[::-1]])[::-1], st["shade"], lit, thickness=-1, label=False)
            if st.get("variegated"):
                self._prim("poly", i, np.stack([u, -half * 0.45], 1).tolist() + mid.tolist(), st["vein"], lit,
                           thickness=-1, label=False)
            self._prim("line", i, [(u0, 0), (ln * 0.92, 0)], st["vein"], lit, thickness=1, label=False)
        elif k == PELVIS:
            self._prim("line", i, [(-ln / 2, 0), (ln / 2, 0)], st["colour"], lit, thickness=thick)
        elif k == TORSO:
            hw0, hw1 = st["hip_width"] / 2, wd / 2
            quad = [(0, -hw0), (ln, -hw1), (ln, hw1), (0, hw0)]
            self._prim("poly", i, quad, st["colour"], lit, thickness=-1)
            if st.get("stripes") is not None:
                for f in (0.3, 0.5, 0.7):
                    hw = hw0 + (hw1 - hw0) * f
                    self._prim("line", i, [(ln * f, -hw * 0.9), (ln * f, hw * 0.9)], st["stripes"], lit,
                               thickness=max(1, int(round(wd * 0.07))), label=False)
            self._prim("poly", i, quad, st["outline"], lit, thickness=1, label=False)
        elif k == HEAD:
            r = st["radius"]
            self._prim("line", i, [(0, 0), (ln - r, 0)], st["colour"], lit, thickness=max(1, int(round(r * 0.8))))
            self._prim("disc", i, [(ln - r, 0)], st["colour"], lit, radius=r, thickness=-1)
            th = np.linspace(-np.pi / 2, np.pi / 2, 9)
            cap = np.stack([ln - r + np.cos(th) * r * 1.04, np.sin(th) * r * 1.04], 1)
            self._prim("poly", i, np.concatenate([cap, [(ln - r * 0.75, r * 0.6), (ln - r * 0.75, -r * 0.6)]]),
                       st["hair"], lit, thickness=-1)
            for side in (-1, 1):
                self._prim("disc", i, [(ln - r * 1.15, side * r * 0.38)], (25, 20, 20), 1.0,
                           radius=max(0.6, r * 0.13), thickness=-1, label=False)
            self._prim("disc", i, [(ln - r, 0)], st["outline"], lit, radius=r, thickness=1, label=False)
        elif k == LIMB:
            self._prim("line", i, [(0, 0), (ln, 0)], st["outline"], lit, thickness=thick + 2, label=False)
            self._prim("line", i, [(0, 0), (ln, 0)], st["colour"], lit, thickness=thick)
            if "cap" in st and st["colour"] is not st["cap"]:
                self._prim("line", i, [(0, 0), (ln * 0.35, 0)], st["cap"], lit, thickness=thick + 1)
            if "hand" in st:
                self._prim("disc", i, [(ln + wd * 0.3, 0)], st["hand"], lit, radius=max(1.0, wd * 0.62), thickness=-1)
            if "foot" in st:
                th = np.linspace(0, 2 * np.pi, 10, endpoint=False)
                side = st["foot_side"]
                foot = np.stack([ln + wd * 0.2 + np.sin(th) * wd * 0.42, -side * wd * 0.45 + np.cos(th) * wd * 1.05], 1)
                self._prim("poly", i, foot, st["foot"], lit, thickness=-1)
        else:  # pragma: no cover - builders only make the kinds above
            raise ValueError(f"unknown part kind {k}")

    # -- posing and drawing ----------------------------------------------------------------
    def pose(self, starts: np.ndarray, angles: np.ndarray) -> np.ndarray:
        """Image coordinates of all primitive points in one pose, as fixed-point ``(N, 2) int32``."""
        c, s = np.cos(angles)[self.pidx], np.sin(angles)[self.pidx]
        x = starts[self.pidx, 0] + self.u * c - self.v * s
        y = starts[self.pidx, 1] + self.u * s + self.v * c
        return np.round(np.stack([x, y], 1) * ONE).astype(np.int32)

    def draw(self, img: np.ndarray, pts: np.ndarray) -> None:
        """Draw all primitives, anti-aliased, onto ``img (S, S, 3) uint8`` in place."""
        aa, line, fill, circle = cv2.LINE_AA, cv2.line, cv2.fillPoly, cv2.circle
        plist = pts.tolist()  # tuples from a list are much cheaper than from numpy rows
        for p in self.prims:
            if p.kind == "line":
                line(img, plist[p.start], plist[p.start + 1], p.colour, p.thickness, aa, SHIFT)
            elif p.kind == "poly":
                if p.thickness < 0:
                    fill(img, [pts[p.start:p.stop]], p.colour, aa, SHIFT)
                else:
                    cv2.polylines(img, [pts[p.start:p.stop]], True, p.colour, p.thickness, aa, SHIFT)
            else:
                circle(img, plist[p.start], p.radius_fx, p.colour, p.thickness, aa, SHIFT)

    def draw_labels(self, labels: np.ndarray, pts: np.ndarray) -> None:
        """Paint ``part id + 1`` of every visible part onto ``labels (S, S) uint16`` (no anti-aliasing)."""
        for p in self.prims:
            if not p.label:
                continue
            seg, v = pts[p.start:p.stop], p.part + 1
            if p.kind == "line":
                cv2.line(labels, tuple(seg[0]), tuple(seg[1]), v, p.thickness, cv2.LINE_8, SHIFT)
            elif p.kind == "poly":
                cv2.fillPoly(labels, [seg], v, cv2.LINE_8, SHIFT)
            else:
                cv2.circle(labels, tuple(seg[0]), int(round(p.radius * ONE)), v, -1, cv2.LINE_8, SHIFT)


# -- backgrounds ---------------------------------------------------------------------------
def _value_noise(rng: np.random.Generator, size: int, cells: int, channels: int = 1) -> np.ndarray:
    grid = rng.random((cells, cells, channels)).astype(np.float32)
    out = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    return out.reshape(size, size, channels) - 0.5


def _random_colour(rng: np.random.Generator, lo: float = 40, hi: float = 230) -> np.ndarray:
    return rng.uniform(lo, hi, 3)


def lighting(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth multiplicative light field ``(S, S) float32`` around 1 (a lamp off to one side)."""
    phi = rng.uniform(0, 2 * np.pi)
    amount = rng.uniform(0.0, 0.3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    field = 1.0 + amount * (xx * np.cos(phi) + yy * np.sin(phi)) + rng.uniform(-0.08, 0.08)
    return field.astype(np.float32)


def make_background(rng: np.random.Generator, size: int, floor_y: float, light: np.ndarray) -> np.ndarray:
    """A static textured backdrop: wall (gradient + one texture) above ``floor_y``, floor below."""
    s = size
    top, bottom = _random_colour(rng), _random_colour(rng)
    t = np.linspace(0, 1, s, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(top * (1 - t) + bottom * t, (s, s, 3)).astype(np.float32).copy()
    style = rng.integers(4)
    if style == 0:  # cloudy noise
        img += _value_noise(rng, s, int(rng.integers(3, 9)), 3) * rng.uniform(30, 80)
        img += _value_noise(rng, s, int(rng.integers(10, 24)), 1) * rng.uniform(10, 30)
    elif style == 1:  # stripes or wallpaper
        ang = rng.uniform(0, np.pi)
        period = rng.uniform(0.05, 0.25) * s
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        wave = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period)
        if rng.random() < 0.5:
            wave = np.sign(wave) * 0.8
        img += (wave[..., None] * rng.uniform(10, 35)) * (rng.uniform(0.5, 1.0, 3))
    elif style == 2:  # photo-like: soft blobs of colour
        canvas = img.copy()
        for _ in range(int(rng.integers(6, 18))):
            c = (int(rng.integers(s)), int(rng.integers(s)))
            ax = (int(rng.integers(s // 16 + 1, s // 3)), int(rng.integers(s // 16 + 1, s // 3)))
            cv2.ellipse(canvas, c, ax, float(rng.uniform(0, 180)), 0, 360, tuple(float(v) for v in _random_colour(rng)), -1)
        sigma = rng.uniform(0.01, 0.04) * s
        img = cv2.GaussianBlur(canvas, (0, 0), sigma) * 0.7 + img * 0.3
    img += _value_noise(rng, s, max(4, s // 4), 1) * rng.uniform(4, 14)  # fine grain everywhere
    # floor / table top with a wood-like grain
    fy = int(np.clip(floor_y - rng.uniform(0.0, 0.05) * s, 0, s))
    if fy < s:
        floor = _random_colour(rng, 60, 200)
        yy, xx = np.mgrid[fy:s, 0:s].astype(np.float32)
        grain = np.sin(yy * rng.uniform(0.8, 2.0) + np.sin(xx * rng.uniform(0.02, 0.1)) * 3) * rng.uniform(3, 12)
        img[fy:] = floor + grain[..., None] + _value_noise(rng, s, 8, 1)[fy:] * 15
    img *= light[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_props(img: np.ndarray, rng: np.random.Generator, count: int, light: np.ndarray) -> None:
    """``count`` rigid props that never move (boxes, framed pictures, balls, bottles), drawn into the
    backdrop with hard edges and strong colours: things a real photo has around its object, that a
    poke must not move and that must not move along when the object does."""
    s = img.shape[0]
    f = lambda pts: np.round(np.asarray(pts, np.float64) * ONE).astype(np.int32)  # noqa: E731
    bgr = lambda c: tuple(float(v) for v in np.clip(c, 0, 255))  # noqa: E731 - an OpenCV colour
    for _ in range(count):
        cx, cy = rng.uniform(0, s, 2)
        w, h = rng.uniform(0.08, 0.35, 2) * s
        lit = float(light[int(np.clip(cy, 0, s - 1)), int(np.clip(cx, 0, s - 1))])
        col = np.clip(_random_colour(rng, 15, 245) * lit, 0, 255)
        edge = bgr(col * rng.uniform(0.3, 0.7))
        style = rng.integers(4)
        if style == 0:  # a box or a book, slightly turned, with a lit top face
            ang = rng.normal(0, 0.15)
            c, sn = np.cos(ang), np.sin(ang)
            corners = [[cx + dx * c - dy * sn, cy + dx * sn + dy * c] for dx, dy in
                       ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))]
            cv2.fillPoly(img, [f(corners)], bgr(col), cv2.LINE_AA, SHIFT)
            top = [corners[0], corners[1], [corners[1][0], corners[1][1] + h * 0.15], [corners[0][0], corners[0][1] + h * 0.15]]
            cv2.fillPoly(img, [f(top)], bgr(col * 1.3), cv2.LINE_AA, SHIFT)
            cv2.polylines(img, [f(corners)], True, edge, 1, cv2.LINE_AA, SHIFT)
        elif style == 1:  # a framed picture: frame, then stripes or blobs inside
            cv2.rectangle(img, tuple(f([cx - w / 2, cy - h / 2])), tuple(f([cx + w / 2, cy + h / 2])), edge, -1, cv2.LINE_AA, SHIFT)
            x0, y0, x1, y1 = (int(v) for v in (cx - w / 2 + 2, cy - h / 2 + 2, cx + w / 2 - 2, cy + h / 2 - 2))
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, s), min(y1, s)
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                inner = img[y0:y1, x0:x1]
                inner[...] = col
                for k in range(int(rng.integers(2, 6))):
                    band = bgr(_random_colour(rng, 15, 245) * lit)
                    if rng.random() < 0.5:  # stripes, like a flag or a poster
                        y = int(k * (y1 - y0) / 5)
                        inner[y:y + max(1, (y1 - y0) // 10)] = band
                    else:
                        cv2.circle(inner, (int(rng.integers(x1 - x0)), int(rng.integers(y1 - y0))),
                                   int(rng.integers(1, max(2, (x1 - x0) // 3))), band, -1, cv2.LINE_AA)
        elif style == 2:  # a ball: shaded disc with a highlight
            r = min(w, h) / 2
            cv2.circle(img, tuple(f([cx, cy])), int(r * ONE), bgr(col * 0.75), -1, cv2.LINE_AA, SHIFT)
            cv2.circle(img, tuple(f([cx - r * 0.2, cy - r * 0.2])), int(r * 0.7 * ONE), bgr(col), -1, cv2.LINE_AA, SHIFT)
            cv2.circle(img, tuple(f([cx - r * 0.35, cy - r * 0.35])), int(max(r * 0.2, 0.6) * ONE),
                       bgr(col * 1.6 + 40), -1, cv2.LINE_AA, SHIFT)
        else:  # a bottle or a vase: a tall body, a neck and a rim
            bw, bh = min(w, h) * 0.6, max(w, h)
            cv2.rectangle(img, tuple(f([cx - bw / 2, cy - bh * 0.2])), tuple(f([cx + bw / 2, cy + bh / 2])),
                          bgr(col), -1, cv2.LINE_AA, SHIFT)
            cv2.rectangle(img, tuple(f([cx - bw / 5, cy - bh / 2])), tuple(f([cx + bw / 5, cy - bh * 0.2])),
                          bgr(col), -1, cv2.LINE_AA, SHIFT)
            cv2.line(img, tuple(f([cx - bw / 2 + 1, cy - bh * 0.15])), tuple(f([cx - bw / 2 + 1, cy + bh * 0.45])),
                     bgr(col * 1.5 + 30), 1, cv2.LINE_AA, SHIFT)
            cv2.ellipse(img, tuple(f([cx, cy - bh / 2])), tuple(f([bw / 4, bw / 12 + 0.5])), 0, 0, 360, edge, -1, cv2.LINE_AA, SHIFT)


def draw_pot(img: np.ndarray, scene: dict, light: np.ndarray) -> None:
    """A flower pot (static scenery) with rim, soil and a soft contact shadow."""
    cx, base_y, w, h = scene["pot"]
    lit = float(light[int(np.clip(base_y - h / 2, 0, img.shape[0] - 1)), int(np.clip(cx, 0, img.shape[1] - 1))])
    col = tuple(float(v) for v in np.clip(scene["pot_colour"] * lit, 0, 255))
    dark = tuple(v * 0.7 for v in col)
    soil = tuple(float(v) for v in np.clip(scene["soil_colour"] * lit, 0, 255))
    f = lambda pts: np.round(np.array(pts) * ONE).astype(np.int32)  # noqa: E731
    shadow = img.copy()
    cv2.ellipse(shadow, tuple(f([cx, base_y])), tuple(f([w * 0.65, h * 0.12])), 0, 0, 360, (0, 0, 0), -1, cv2.LINE_AA, SHIFT)
    cv2.addWeighted(shadow, 0.35, img, 0.65, 0, dst=img)
    top = base_y - h
    cv2.fillPoly(img, [f([[cx - w / 2, top], [cx + w / 2, top], [cx + w * 0.38, base_y], [cx - w * 0.38, base_y]])],
                 col, cv2.LINE_AA, SHIFT)
    cv2.fillPoly(img, [f([[cx - w * 0.54, top - h * 0.04], [cx + w * 0.54, top - h * 0.04],
                          [cx + w * 0.52, top + h * 0.2], [cx - w * 0.52, top + h * 0.2]])], dark, cv2.LINE_AA, SHIFT)
    cv2.ellipse(img, tuple(f([cx, top])), tuple(f([w * 0.47, h * 0.07])), 0, 0, 360, soil, -1, cv2.LINE_AA, SHIFT)


def draw_shadow(img: np.ndarray, scene: dict) -> None:
    cx, gy, w = scene["shadow"]
    shadow = img.copy()
    cv2.ellipse(shadow, (int(cx * ONE), int(gy * ONE)), (int(w / 2 * ONE), int(w * 0.08 * ONE)), 0, 0, 360,
                (0, 0, 0), -1, cv2.LINE_AA, SHIFT)
    cv2.addWeighted(shadow, 0.3, img, 0.7, 0, dst=img)
