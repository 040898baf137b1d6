"""Videos drawn at the photo's own resolution (issue 34 item 1): as sharp as the photo where the
object only moves, the model's own frames where it paints, and the size rules of the exports."""
from __future__ import annotations

import cv2
import numpy as np

from ipoke_core.export import render_frames
from ipoke_core.full_resolution import MAX_SIDE, full_side, sharpness
from ipoke_core.image import Framing, load_image
from ipoke_core.inference import Video
from ipoke_core.poke import Poke

from test_app_fakes import FakePoker, make_window, settings  # noqa: F401 - fixtures

R = 32


def photo(h: int = 160, w: int = 200) -> np.ndarray:
    """A sharp test photo: fine checkers and diagonal stripes (what a 32 px model cannot hold)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([((x // 2 + y // 2) % 2) * 200 + 30, (x + 2 * y) % 17 * 15, (3 * x) % 23 * 11], -1)
    return img.astype(np.uint8)


def shifted_video(img: np.ndarray, dx: float, painted: bool = False) -> Video:
    """A motion-first video of ``img``: the whole window moves ``dx`` model px to the right by the last
    frame, drawn by warping (mask 1), or, with ``painted``, drawn by the model itself (mask 0)."""
    framing = Framing.fit(img.shape[1], img.shape[0], R)
    source = framing.apply(img)
    t = 4
    flow = np.zeros((t, R, R, 2), np.float32)
    flow[..., 0] = -dx * (np.arange(1, t + 1) / t)[:, None, None]  # backward: frame(p) = source(p - shift)
    frames = np.stack([cv2.remap(source, *np.meshgrid(np.arange(R, dtype=np.float32) + f[0, 0, 0],
                                                      np.arange(R, dtype=np.float32)), cv2.INTER_CUBIC,
                                 borderMode=cv2.BORDER_REPLICATE) for f in flow])
    mask = np.full((t, R, R), 0.0 if painted else 1.0, np.float32)
    return Video(frames, source, [Poke(16, 16, dx, 0)], framing, flow=flow, mask=mask, image=img)


def test_a_moved_photo_stays_as_sharp_as_the_photo():
    img = photo()
    video = shifted_video(img, 3.0)
    big, frames = video.full_resolution
    s = full_side(video.framing)
    assert s == 160 and big.shape == (s, s, 3) and frames.shape == (4, s, s, 3)
    model_size = cv2.resize(video.frames[-1], (s, s), interpolation=cv2.INTER_CUBIC)
    assert sharpness(frames[-1]) > 0.8 * sharpness(big)
    assert sharpness(model_size) < 0.5 * sharpness(big)
    # and it moved: 3 model px = 15 photo px to the right (away from the clamped border)
    assert np.abs(frames[-1][:, 40:140].astype(int) - big[:, 25:125].astype(int)).mean() < 12
    assert np.abs(frames[-1][:, 40:140].astype(int) - big[:, 40:140].astype(int)).mean() > 40


def test_a_still_video_is_the_photo_itself():
    img = photo()
    video = shifted_video(img, 0.0)
    big, frames = video.full_resolution
    assert np.abs(frames.astype(int) - big[None].astype(int)).max() <= 1


def test_what_the_model_paints_comes_from_its_own_frames():
    """Mask 0 (the model painted every pixel): the full-resolution frame is its frame, magnified."""
    img = photo()
    video = shifted_video(img, 2.0, painted=True)
    _, frames = video.full_resolution
    s = frames.shape[1]
    expected = cv2.resize(video.frames[-1].astype(np.float32), (s, s), interpolation=cv2.INTER_LINEAR)
    assert np.abs(frames[-1].astype(float) - expected).max() <= 1


def test_no_full_resolution_without_motion_or_when_the_photo_is_no_larger():
    img = photo()
    video = shifted_video(img, 1.0)
    assert Video(video.frames, video.source, video.pokes, video.framing).full_resolution is None  # pixel decoder
    small = cv2.resize(img, (R, R))
    assert shifted_video(small, 1.0).full_resolution is None  # a 32 px photo: the model's own size
    assert full_side(Framing.fit(20000, 9000, R)) == MAX_SIDE  # a 9000 px window is drawn 1024 wide


def test_exports_are_at_least_the_chosen_size_and_never_softer_than_the_photo():
    img = photo()
    video = shifted_video(img, 2.0)
    full = render_frames(video, upscale=2, overlay=False)
    assert full.shape == (5, 160, 160, 3)  # the photo's 160 px beat 32 x 2
    assert np.array_equal(full[0], video.full_resolution[0])
    assert render_frames(video, upscale=8, overlay=False).shape == (5, 256, 256, 3)  # 32 x 8 beats 160
    model = render_frames(video, upscale=2, overlay=False, full_resolution=False)
    assert model.shape == (5, 64, 64, 3) and np.array_equal(model[1], video.frames[0].repeat(2, 0).repeat(2, 1))
    with_arrow = render_frames(video, upscale=2, overlay=True)
    assert (with_arrow[0] != full[0]).any()  # the arrow is drawn at the full-resolution scale


class MotionFakePoker(FakePoker):
    """A motion-first fake: the whole window slides along the sum of the pokes, drawn by warping."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.predicts_motion = True

    def poke(self, image, pokes, framing=None, letterbox=False) -> Video:
        pokes = [pokes] if isinstance(pokes, Poke) else list(pokes)
        img = load_image(image)
        _, framing = self.prepare(img, framing, letterbox)
        moved = shifted_video(img, sum(framing.poke_to_model(p).dx for p in pokes))
        return Video(moved.frames, moved.source, [framing.poke_to_model(p) for p in pokes], framing,
                     flow=moved.flow, mask=moved.mask, image=img)


def test_the_app_plays_the_video_at_the_photos_resolution_and_can_go_back(qtbot, make_window, tmp_path):  # noqa: F811
    from PIL import Image

    w = make_window(MotionFakePoker(resolution=R))
    path = tmp_path / "photo.png"
    Image.fromarray(photo()).save(path)
    w.open_image(str(path))
    qtbot.waitUntil(lambda: w.workspace.image is not None, timeout=5000)
    w.workspace.add_poke(Poke(100, 80, 20, 0))
    qtbot.waitUntil(lambda: w.video is not None, timeout=5000)
    qtbot.waitUntil(lambda: w.player.view.image is not None and w.player.view.image.width() == 160, timeout=5000)
    assert w.player.view.resolution == R  # pokes are still drawn in model pixels
    assert w.acts.full_resolution.isChecked()
    w.acts.full_resolution.setChecked(False)  # View > Video at the photo's resolution, off
    qtbot.waitUntil(lambda: w.player.view.image.width() == R, timeout=5000)
    assert w.settings.get("full_resolution_video") is True  # saved at close
    w.close()
    assert w.settings.get("full_resolution_video") is False
