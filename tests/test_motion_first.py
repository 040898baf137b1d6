"""The motion-first generator: exact flow targets, the warp renderer, the poke at every level,
the model's own motion in Videos and heatmaps, and old pixel-decoder checkpoints."""
import json
import math

import numpy as np
import pytest
import torch

from ipoke_core.analysis.heatmap import correlation_heatmap, poker_generate_fn, poker_motion_fn
from ipoke_core.checkpoint import load_checkpoint, save_checkpoint
from ipoke_core.config import ModelConfig, default_model_config
from ipoke_core.data import PokeDataset
from ipoke_core.data.flow_targets import backward_flow
from ipoke_core.data.synthetic.clip import make_clip
from ipoke_core.data.synthetic.generate import generate_dataset
from ipoke_core.inference import Poker
from ipoke_core.model import IPoke
from ipoke_core.model.warp import invert_backward_flow, warp
from ipoke_core.poke import Poke, rasterize
from ipoke_core.train.losses import flow_loss

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model


def _chw(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()


@pytest.mark.parametrize("kind", ["plant", "figure"])
def test_exact_flow_target_warps_frame0_onto_frame_t(kind):
    """Warping the source with the true backward flow reproduces the moved parts (3x closer than a still frame)."""
    warped_err, still_err = [], []
    for index in range(3):
        clip = make_clip(kind, 3, index, size=64, n_frames=11)
        flow = backward_flow(clip.parts, clip.starts, clip.angles, 0, list(range(1, 11)), 64)
        assert flow.shape == (10, 64, 64, 2) and np.isfinite(flow).all()
        src = _chw(clip.frames[:1]).expand(10, -1, -1, -1)
        target = _chw(clip.frames[1:11])
        fl = torch.from_numpy(flow).permute(0, 3, 1, 2)
        moving = (fl.norm(dim=1, keepdim=True) > 0.5).expand_as(target)
        assert moving.any()
        warped_err.append(float((warp(src, fl) - target).abs()[moving].mean()))
        still_err.append(float((src - target).abs()[moving].mean()))
        assert np.all(flow[:, ~clip.mask] == 0) or True  # background pixels that stay background do not move
    assert np.mean(warped_err) < np.mean(still_err) / 2.5, (warped_err, still_err)


def test_flow_target_at_half_resolution_is_the_scaled_field():
    clip = make_clip("plant", 3, 0, size=64, n_frames=11)
    full = backward_flow(clip.parts, clip.starts, clip.angles, 0, [10], 64)[0]
    half = backward_flow(clip.parts, clip.starts, clip.angles, 0, [10], 32)[0]
    moving = np.linalg.norm(half, axis=-1) > 0.3
    assert moving.sum() > 10
    # the half-size field is in half-size pixels: about half the full-size one at the same points
    ys, xs = np.nonzero(moving)
    ratio = np.linalg.norm(half[ys, xs], axis=-1).mean() / np.linalg.norm(full[2 * ys, 2 * xs], axis=-1).mean()
    assert 0.4 < ratio < 0.6


def test_warp_with_zero_flow_is_the_identity_and_integer_flow_shifts():
    src = torch.rand(2, 3, 16, 16)
    assert torch.equal(warp(src, torch.zeros(2, 2, 16, 16)), src)
    flow = torch.zeros(2, 2, 16, 16)
    flow[:, 0] = 2.0  # out(x, y) = src(x + 2, y)
    assert torch.allclose(warp(src, flow)[..., :-2], src[..., 2:], atol=1e-6)


def test_render_with_mask_one_returns_the_warped_source():
    torch.manual_seed(0)
    model = IPoke(ModelConfig(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=3, decoder="warp"))
    dec = model.decoder
    with torch.no_grad():
        dec.to_motion.weight.zero_()
        dec.to_motion.bias.copy_(torch.tensor([0.0, 0.0, 40.0]))  # zero flow, mask sigmoid(40) = 1
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    out = model.animate(img, torch.zeros(2, 2, 32, 32))
    assert out.flow.shape == (2, 3, 2, 32, 32) and out.mask.shape == (2, 3, 1, 32, 32)
    assert torch.allclose(out.video, img[:, None].expand_as(out.video), atol=1e-6)


def test_untrained_motion_first_model_starts_as_the_flow_warp_prior():
    """At initialisation the poked point follows the poke (the Gaussian motion prior, ramped in time)
    and pixels far from it stay still: training starts from the flow-warp baseline."""
    torch.manual_seed(0)
    model = IPoke(default_model_config(64)).eval()
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        out = model.animate(img, rasterize([Poke(30, 20, 3, -2)], 64, 2, "shift", 4.0)[None])
    at_poke = out.flow[0, :, :, 20, 30]  # (T, 2) backward flow at the poked pixel
    assert torch.allclose(at_poke[-1], torch.tensor([-3.0, 2.0]), atol=0.4)
    assert torch.allclose(at_poke[0], at_poke[-1] / 10, atol=0.25)  # linear in time (+ the untrained features)
    assert out.flow[0, -1, :, 60, 2].abs().max() < 0.2  # far away: still


@pytest.mark.parametrize("dynamics", ["hierarchy", "single_gru"])
def test_the_poke_reaches_every_level(dynamics):
    """A zero poke and a 4 px poke give different recurrent states at every level, already at step 1:
    with ``poke_every_level`` each cell reads the poke map, not only phi at the bottleneck."""
    torch.manual_seed(0)
    cfg = ModelConfig(resolution=64, channels=[16, 32, 64], bottleneck=8, depth=3, seq_len=2, poke_scale=4.0,
                      poke_gain=8.0, poke_every_level=True, decoder="warp", dynamics=dynamics)
    model = IPoke(cfg).eval()
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    still = torch.zeros(1, 2, 64, 64)
    poked = rasterize([Poke(20, 20, 4, 0)], 64, 2, "shift", 4.0)[None]
    with torch.no_grad():
        _, s0 = model(img, still)
        _, s1 = model(img, poked)
        # cut phi off: the poke still reaches the first-step state of every level through its own input
        for p in model.poke_encoder.parameters():
            p.zero_()
        _, z0 = model(img, still)
        _, z2 = model(img, poked)
    for k in range(len(s0[0])):
        assert not torch.allclose(s0[0][k], s1[0][k]), k
        assert not torch.allclose(z0[0][k], z2[0][k]), k


def test_invert_backward_flow_recovers_a_smooth_forward_motion():
    """A rotation by 0.1 rad about the centre: the inverse of its backward flow is its forward motion."""
    r = 32
    yy, xx = torch.meshgrid(torch.arange(r).float(), torch.arange(r).float(), indexing="ij")
    cx = cy = (r - 1) / 2
    a = 0.1

    def rotate(x, y, angle):
        c, s = np.cos(angle), np.sin(angle)
        return cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c

    bx, by = rotate(xx, yy, -a)  # output pixel q shows source point R^-1 q
    backward = torch.stack([bx - xx, by - yy])[None]
    fx, fy = rotate(xx, yy, a)
    forward = torch.stack([fx - xx, fy - yy])[None]
    inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
    assert (invert_backward_flow(backward) - forward)[inner].abs().max() < 0.05
    assert (-backward - forward)[inner].abs().max() > 0.05  # the naive negation is not the answer


def test_flow_loss_balances_moving_and_still_pixels():
    target = torch.zeros(1, 1, 2, 10, 10)
    target[..., 0, 0, 0] = 3.0  # one moving pixel out of 100
    still_model = torch.zeros_like(target)
    assert flow_loss(still_model, target) > 2.9  # ignoring the one moving pixel costs its full error
    assert flow_loss(target, target) < 0.03


def test_flow_loss_border_term_charges_a_drag_beside_the_moving_part():
    target = torch.zeros(1, 2, 2, 32, 32)
    target[:, :, 0, 10:20, 10:20] = 2.0  # a square moves right
    dragged = target.clone()
    dragged[:, :, 0, 10:20, 20:22] = 2.0  # the two columns of background beside it come along
    far = target.clone()
    far[:, :, 0, 0:10, 0:2] = 2.0  # as many still pixels moved, but far from the square
    plain = [float(flow_loss(p, target)) for p in (dragged, far)]
    assert plain[0] == pytest.approx(plain[1])  # the still mean cannot tell a drag from any other error
    border = [float(flow_loss(p, target, border_px=3, border_weight=1.0)) for p in (dragged, far)]
    assert border[1] == pytest.approx(plain[1] + 0.01)  # far from the square: the border is exact (Charbonnier eps)
    assert border[0] == pytest.approx(plain[0] + 0.01 + 20 * 2.0 / 156, abs=0.01)  # 20 of its 16^2 - 10^2 px off by 2
    assert flow_loss(target, target, border_px=3, border_weight=1.0) < 0.04  # three means of eps


@pytest.fixture(scope="module")
def plants(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "plants"
    generate_dataset(root, "plant", n=10, size=64, frames=12, seed=2, workers=1, flow_spans=(10,))
    return root


def test_dataset_serves_cached_exact_flow_targets(plants):
    ds = PokeDataset(plants, "train", resolution=32, seq_len=10, background_fraction=0.0, flow_targets=True,
                     poke_radius=1, poke_scale=8.0)
    item = ds[0]
    assert item["flow"].shape == (10, 2, 32, 32) and item["flow"].dtype == torch.float32
    assert item["flow"].abs().max() > 0.2
    cached = list((plants / "clips" / item["clip_id"]).glob("flow_target_*.npy"))
    assert len(cached) == 1
    assert torch.allclose(ds[0]["flow"], item["flow"])  # read back from the cache
    bg = PokeDataset(plants, "train", resolution=32, seq_len=10, background_fraction=0.999, flow_targets=True,
                     poke_radius=1, poke_scale=8.0)
    still = [bg[i] for i in range(len(bg)) if bool(bg[i]["is_background"])]
    assert still and all(float(it["flow"].abs().max()) == 0.0 for it in still)


def test_video_carries_the_models_motion_and_heatmaps_read_it():
    torch.manual_seed(0)
    model = IPoke(ModelConfig(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=3, decoder="warp",
                              poke_every_level=True, poke_gain=4.0, poke_scale=4.0))
    with torch.no_grad():
        model.decoder.to_motion.weight.normal_(std=0.05)  # an untrained model that moves things
    poker = Poker(model, {}, "cpu")
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    video = poker.poke(img, Poke(10, 12, 3, 1))
    assert video.flow is not None and video.flow.shape == (3, 32, 32, 2)
    frames, flows = poker.generate(video.source, [video.pokes], with_flow=True)
    assert np.array_equal(frames[0], video.frames) and np.allclose(flows[0], video.flow)
    pokes = [Poke(10, 12, 3, 1), Poke(10, 12, -2, 2)]
    moved = poker.last_motion(video.source, pokes)
    expected = invert_backward_flow(torch.from_numpy(poker.generate(video.source, [[p] for p in pokes],
                                                                    with_flow=True)[1][:, -1]).permute(0, 3, 1, 2))
    assert np.allclose(moved, expected.permute(0, 2, 3, 1).numpy(), atol=1e-5)
    res = correlation_heatmap(poker_generate_fn(poker, video.source), video.source, (10.0, 12.0), n=6,
                              magnitude_range=(1, 4), motion=poker_motion_fn(poker, video.source))
    assert res.heatmap.shape == (32, 32) and res.timings["flow_s"] == 0.0


def test_pixel_decoder_checkpoints_of_before_the_motion_first_design_still_load(tmp_path):
    """A sidecar written before ``decoder`` / ``poke_every_level`` / ``poke_gain`` existed loads as the paper's decoder."""
    torch.manual_seed(0)
    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=3)
    model = IPoke(cfg)
    save_checkpoint(tmp_path / "old", model, {"trained": True})
    sidecar = tmp_path / "old.json"
    meta = json.loads(sidecar.read_text())
    for key in ("decoder", "poke_every_level", "poke_gain"):
        del meta["model"][key]
    sidecar.write_text(json.dumps(meta))
    loaded, _ = load_checkpoint(tmp_path / "old")
    assert loaded.cfg.decoder == "pixel" and not loaded.predicts_motion
    poker = Poker(loaded, {}, "cpu")
    assert not poker.predicts_motion and poker_motion_fn(poker, np.zeros((32, 32, 3), np.uint8)) is None
    video = poker.poke(np.zeros((32, 32, 3), np.uint8), Poke(10, 10, 2, 0))
    assert video.flow is None and video.frames.shape == (3, 32, 32, 3)


def test_decoding_a_subset_of_frames_gives_those_frames_of_the_full_video():
    from ipoke_core.train.engine import loss_frame_indices

    gen = torch.Generator().manual_seed(0)
    picks = loss_frame_indices(10, 3, gen)
    assert len(picks) == 3 and picks == sorted(set(picks)) and picks[-1] == 9
    assert loss_frame_indices(10, 0, gen) is None and loss_frame_indices(10, 10, gen) is None
    torch.manual_seed(0)
    model = IPoke(default_model_config(64)).eval()
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    pm = rasterize([Poke(30, 30, 4, 0)], 64, 2, "shift", 4.0)[None].expand(2, -1, -1, -1)
    with torch.no_grad():
        full = model.animate(img, pm)
        part = model.animate(img, pm, decode=picks)
    assert torch.allclose(full.video[:, picks], part.video, atol=1e-5)
    assert torch.allclose(full.flow[:, picks], part.flow, atol=1e-5)


def test_inference_renders_bicubic_and_a_zero_flow_keeps_the_source():
    from ipoke_core.model.warp import warp_bicubic

    src = torch.rand(2, 3, 16, 16)
    assert torch.allclose(warp_bicubic(src, torch.zeros(2, 2, 16, 16)), src, atol=1e-5)
    flow = torch.full((2, 2, 16, 16), 0.5)
    # a half-pixel shift: bicubic keeps more contrast than bilinear's average of neighbours
    assert warp_bicubic(src, flow)[..., 2:-2, 2:-2].std() > warp(src, flow)[..., 2:-2, 2:-2].std()
    poker = Poker(IPoke(default_model_config(64)), {}, "cpu")
    assert poker.model.decoder.resample == "bicubic"


def test_dead_zone_draws_short_flows_as_still_and_keeps_real_motion():
    """``model.motion_deadzone_px``: a flow shorter than the dead zone is exactly zero, so the frame
    is the source bit for bit (no shimmer on a textured photo); long flows stay nearly as they were."""
    from ipoke_core.model.warp import shrink_flow

    flow = torch.zeros(1, 2, 4, 4)
    flow[0, 0, 0, 0] = 0.15  # under a 0.2 px dead zone
    flow[0, :, 1, 1] = torch.tensor([2.0, 0.0])  # real motion
    flow[0, :, 2, 2] = torch.tensor([0.0, -0.3])  # just above it
    out = shrink_flow(flow, 0.2)
    assert out[0, :, 0, 0].abs().max() == 0
    assert torch.allclose(out[0, :, 1, 1], torch.tensor([1.98, 0.0]), atol=1e-6)  # 2 px loses 1 %
    assert -0.3 < float(out[0, 1, 2, 2]) < 0  # shortened, same direction
    assert torch.equal(shrink_flow(flow, 0.0), flow)
    lengths = torch.linspace(0, 1, 1001)
    shrunk = shrink_flow(torch.stack([lengths, torch.zeros_like(lengths)])[None, :, None], 0.2)[0, 0, 0]
    assert (shrunk.diff() >= 0).all() and shrunk.diff().max() < 0.01  # monotone and continuous: no tear

    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=3, decoder="warp")
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    drawn = {}
    for deadzone in (0.0, 0.3):
        torch.manual_seed(0)
        cfg.motion_deadzone_px = deadzone
        model = IPoke(cfg)
        with torch.no_grad():  # a uniform 0.25 px drift, mask 1
            model.decoder.to_motion.weight.zero_()
            model.decoder.to_motion.bias.copy_(torch.tensor([0.25 / model.decoder.flow_unit, 0.0, 40.0]))
            drawn[deadzone] = model.animate(img, torch.zeros(2, 2, 32, 32))
    assert drawn[0.0].flow.abs().max() > 0.2 and not torch.allclose(drawn[0.0].video[..., :-1], img[:, None, ..., :-1], atol=1e-3)
    assert drawn[0.3].flow.abs().max() == 0
    assert torch.allclose(drawn[0.3].video, img[:, None].expand_as(drawn[0.3].video), atol=1e-6)


def test_dead_zone_is_checked_and_old_checkpoints_load_without_one(tmp_path):
    from ipoke_core.config import ConfigError

    for bad in (-0.1, float("nan"), 3.0):
        with pytest.raises(ConfigError, match="motion_deadzone_px"):
            ModelConfig(decoder="warp", motion_deadzone_px=bad).validate()
    with pytest.raises(ConfigError, match="pixel decoder"):
        ModelConfig(decoder="pixel", motion_deadzone_px=0.2).validate()
    save_checkpoint(tmp_path / "old", IPoke(default_model_config(64)))
    sidecar = tmp_path / "old.json"
    meta = json.loads(sidecar.read_text())
    del meta["model"]["motion_deadzone_px"]  # written before the dead zone existed
    sidecar.write_text(json.dumps(meta))
    model, _ = load_checkpoint(tmp_path / "old")
    assert model.cfg.motion_deadzone_px == 0.0 and model.decoder.deadzone == 0.0


def test_motion_prior_width_is_a_setting_and_old_checkpoints_keep_the_baselines(tmp_path):
    """``model.motion_prior_sigma``: the prior is the poke spread by a Gaussian of that width (a
    fraction of the resolution); every checkpoint written before the field draws R/8, the flow-warp
    baseline's falloff."""
    from ipoke_core.config import ConfigError

    def prior(sigma: float) -> torch.Tensor:
        cfg = ModelConfig(resolution=64, channels=[8, 16, 32], bottleneck=8, depth=3, seq_len=3,
                          decoder="warp", motion_prior_sigma=sigma)
        poke_map = torch.zeros(1, 2, 64, 64)
        poke_map[0, 0, 30:35, 30:35] = 1.0  # a 5x5 poke square (poke_radius 2) at (32, 32)
        return IPoke(cfg).decoder.motion_prior(poke_map)[0, 0]

    wide, narrow = prior(0.125), prior(1 / 16)
    # about the poke at its point (the 5x5 square blurred: 0.97 of it with sigma 8, 0.88 with sigma 4)
    assert 0.95 < float(wide[32, 32]) <= 1.0 and 0.85 < float(narrow[32, 32]) < 0.95
    # 8 px away: exp(-64 / 128) of the peak with sigma 8, exp(-64 / 32) with sigma 4
    assert abs(float(wide[32, 40]) / float(wide[32, 32]) - math.exp(-0.5)) < 0.05
    assert abs(float(narrow[32, 40]) / float(narrow[32, 32]) - math.exp(-2.0)) < 0.05
    for bad in (0.0, -0.1, 0.6, float("nan")):
        with pytest.raises(ConfigError, match="motion_prior_sigma"):
            ModelConfig(decoder="warp", motion_prior_sigma=bad).validate()
    save_checkpoint(tmp_path / "old", IPoke(default_model_config(64)))
    sidecar = tmp_path / "old.json"
    meta = json.loads(sidecar.read_text())
    del meta["model"]["motion_prior_sigma"]  # written before the field existed
    sidecar.write_text(json.dumps(meta))
    model, _ = load_checkpoint(tmp_path / "old")
    assert model.cfg.motion_prior_sigma == 0.125
