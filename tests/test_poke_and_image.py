"""Pokes, their rasterisation, and the mapping from user-image pixels into the model's square."""
import math

import numpy as np
import pytest
from PIL import Image

from ipoke_core.image import Framing, ImageError, load_image
from ipoke_core.poke import Poke, PokeError, rasterize


def test_rasterize_writes_a_square_of_scaled_displacement():
    m = rasterize([Poke(10, 20, 4, -8)], 32, radius=2, scale=8.0).numpy()
    assert m.shape == (2, 32, 32)
    assert np.allclose(m[:, 18:23, 8:13], np.array([0.5, -1.0])[:, None, None])
    assert np.count_nonzero(m[0]) == 25


def test_rasterize_impulse_is_direction_times_clipped_magnitude():
    m = rasterize([Poke(5, 5, 30, 40)], 16, radius=0, mode="impulse", scale=10.0).numpy()
    assert np.allclose(m[:, 5, 5], [0.6, 0.8])  # |d| = 50 > scale -> magnitude clipped to 1
    m = rasterize([Poke(5, 5, 3, 4)], 16, radius=0, mode="impulse", scale=10.0).numpy()
    assert np.allclose(m[:, 5, 5], [0.3, 0.4])


@pytest.mark.parametrize("poke,msg", [
    (Poke(-1, 5, 1, 1), "outside"), (Poke(5, 200, 1, 1), "outside"), (Poke(5, 5, 0, 0), "zero length"),
    (Poke(float("nan"), 5, 1, 1), "non-finite"), (Poke(5, 5, math.inf, 1), "non-finite"),
])
def test_bad_pokes(poke, msg):
    with pytest.raises(PokeError, match=msg):
        poke.validate(100, 100)


@pytest.mark.parametrize("w,h,letterbox", [(400, 300, False), (300, 400, False), (400, 300, True), (64, 64, False)])
def test_framing_round_trips_coordinates(w, h, letterbox):
    f = (Framing.letterbox if letterbox else Framing.center_crop)(w, h, 64)
    for x, y in [(w / 2, h / 2), (w * 0.4, h * 0.6)]:
        mx, my = f.to_model(x, y)
        assert f.to_source(mx, my) == pytest.approx((x, y))
    p = Poke(w / 2, h / 2, 10, -6)
    q = f.poke_to_model(p)
    assert (q.dx, q.dy) == pytest.approx((10 * 64 / f.side, -6 * 64 / f.side))
    assert f.poke_to_source(q).x == pytest.approx(p.x)


def test_framing_apply_puts_the_source_pixel_where_to_model_says():
    img = np.zeros((300, 500, 3), np.uint8)
    img[140:160, 290:310] = 255  # a bright square centred on (299.5, 149.5)
    f = Framing.center_crop(500, 300, 64).moved(180, 0)
    out = f.apply(img)
    ys, xs = np.nonzero(out[..., 0] > 128)
    mx, my = f.to_model(299.5, 149.5)
    assert xs.mean() == pytest.approx(mx, abs=0.5) and ys.mean() == pytest.approx(my, abs=0.5)


def test_moved_crop_stays_inside_the_image():
    f = Framing.center_crop(500, 300, 64).moved(1000, -50)
    assert (f.x0, f.y0) == (200, 0)


def test_load_image_modes(tmp_path):
    gray = np.arange(64 * 48, dtype=np.uint8).reshape(48, 64)
    Image.fromarray(gray).save(tmp_path / "g.png")
    assert load_image(tmp_path / "g.png").shape == (48, 64, 3)
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :15, 3] = 255  # left half opaque red, right half transparent -> white
    Image.fromarray(rgba).save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert tuple(out[5, 2]) == (255, 0, 0) and tuple(out[5, 25]) == (255, 255, 255)
    deep = (np.arange(40 * 40, dtype=np.uint16).reshape(40, 40) * 40)
    Image.fromarray(deep).save(tmp_path / "d.png")
    out = load_image(tmp_path / "d.png")
    assert out.dtype == np.uint8 and out.max() > 200
    assert load_image(np.random.rand(10, 12)).shape == (10, 12, 3)
    assert load_image(np.random.rand(10, 12, 3) * 2 - 1).dtype == np.uint8


def test_huge_image_is_reduced(tmp_path):
    Image.new("RGB", (12000, 12000), (10, 200, 30)).save(tmp_path / "big.jpg", quality=50)
    out = load_image(tmp_path / "big.jpg")
    assert max(out.shape[:2]) <= 2048 and tuple(out[100, 100]) == pytest.approx((10, 200, 30), abs=6)


@pytest.mark.parametrize("content,msg", [(b"", "not a readable image"), (b"hello world", "not a readable image")])
def test_unreadable_files(tmp_path, content, msg):
    p = tmp_path / "x.png"
    p.write_bytes(content)
    with pytest.raises(ImageError, match=msg):
        load_image(p)


def test_tiny_and_missing_images(tmp_path):
    Image.new("RGB", (1, 1)).save(tmp_path / "one.png")
    with pytest.raises(ImageError, match="at least 2x2"):
        load_image(tmp_path / "one.png")
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((4, 4), np.nan))
