"""The object mask (``model.object_mask``): motion is gated by what can move, so the background beside
a poke stays still while the part moves; a new mask starts from its checkpoint's motion and learns the
object from the simulator's part map."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ipoke_core.checkpoint import save_checkpoint
from ipoke_core.config import ConfigError, ModelConfig
from ipoke_core.model import IPoke
from ipoke_core.model.object_mask import gate_flow, object_mask_loss
from ipoke_core.poke import Poke, rasterize
from ipoke_core.train import TrainOptions, train

from test_finetune import QUIET, fine_tune_only, pretrained  # noqa: F401 - a short tiny run without the mask
from test_train_loop import column, data_dir, tiny  # noqa: F401


def _config(**kw) -> ModelConfig:
    return ModelConfig(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=3, decoder="warp",
                       poke_every_level=True, poke_gain=8.0, poke_scale=4.0, **kw)


def test_the_gate_stills_what_the_flow_only_drags_and_keeps_the_object_that_covers_the_background():
    r = 16
    movable = torch.full((1, 1, r, r), 0.1)
    movable[..., : r // 2] = 0.8  # the object: the left half (the gate is 1 from 0.75 up, 0 below 0.25)
    flow = torch.zeros(1, 2, r, r)
    flow[:, 0] = -1.0  # every pixel shows the source one pixel to its left: the object moves right by 1
    gated = gate_flow(flow, movable)
    assert torch.equal(gated[:, :, :, : r // 2], flow[:, :, :, : r // 2])  # the object moves
    assert torch.equal(gated[:, 0, :, r // 2], flow[:, 0, :, r // 2])  # ... over the first background column
    assert gated[:, :, :, r // 2 + 1:].abs().max() == 0  # the rest of the background stays still
    flow[:, 0] = 1.0  # the object moves left: where it stood, its pixels may smear the background in
    assert torch.equal(gate_flow(flow, movable)[:, :, :, : r // 2], flow[:, :, :, : r // 2])


def test_the_object_mask_loss_is_least_for_the_true_object_and_counts_a_thin_object_as_much_as_the_wall():
    parts = torch.full((1, 16, 16), -1)
    parts[0, :, 7] = 0  # a one-pixel stem
    right = torch.where(parts[:, None] >= 0, 0.99, 0.01).float()
    everything_still = torch.full((1, 1, 16, 16), 0.01)
    assert object_mask_loss(right, parts) < 0.02
    # the stem is 6 % of the pixels, yet calling it background costs half the loss's scale
    assert object_mask_loss(everything_still, parts) > 2.0
    assert torch.isfinite(object_mask_loss(right, torch.full((1, 16, 16), -1)))  # no object at all


def test_the_plain_object_mask_loss_prefers_background_for_a_pixel_that_is_often_background():
    # the anti-aliased pixel beside a stem: the same look, labelled background 3 times in 4
    parts = torch.full((4, 16, 16), -1)
    parts[:, :, 7] = 0
    parts[0, :, 8] = 0
    rim = [torch.where(parts[:, None] >= 0, 0.99, 0.01).float() for _ in range(2)]
    rim[0][:, :, :, 8], rim[1][:, :, :, 8] = 0.25, 0.75  # the rim pixel called background / object
    plain = [object_mask_loss(m, parts, balanced=False) for m in rim]
    balanced = [object_mask_loss(m, parts) for m in rim]
    assert plain[0] < plain[1]  # all pixels alike: right 3 times in 4 wins
    assert balanced[1] < balanced[0]  # object pixels weigh 7-15x here: the rim is called object


def test_the_object_mask_needs_the_warp_decoder():
    with pytest.raises(ConfigError, match="object_mask"):
        ModelConfig(decoder="pixel", object_mask=True).validate()


@pytest.mark.model
def test_a_new_object_mask_starts_from_the_checkpoints_own_motion():
    torch.manual_seed(0)
    plain = IPoke(_config()).eval()
    gated = IPoke(_config(object_mask=True)).eval()
    missing, unexpected = gated.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("object_mask.") for k in missing)
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    poke = rasterize([Poke(10, 12, 3, 0)], 32, 2, "shift", 4.0)[None]
    with torch.inference_mode():
        a, b = plain.animate(image, poke), gated.animate(image, poke)
    assert b.movable.shape == (1, 1, 32, 32) and b.movable.min() > 0.99
    assert torch.equal(b.flow, a.flow) and torch.equal(b.video, a.video)  # everything is movable


@pytest.mark.model
def test_a_poke_on_what_the_mask_calls_background_is_no_poke_at_all():
    torch.manual_seed(0)
    model = IPoke(_config(object_mask=True)).eval()
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    movable = torch.zeros(1, 1, 32, 32)
    movable[..., 16:] = 1  # the object: the right half
    on_background = rasterize([Poke(6, 12, 3, 0)], 32, 2, "shift", 4.0)[None]
    on_object = rasterize([Poke(24, 12, 3, 0)], 32, 2, "shift", 4.0)[None]
    with torch.inference_mode():
        none = model.animate(image, torch.zeros_like(on_object), movable=movable)
        background = model.animate(image, on_background, movable=movable)
        obj = model.animate(image, on_object, movable=movable)
    assert torch.equal(background.video, none.video) and torch.equal(background.flow, none.flow)
    assert not torch.equal(obj.flow, none.flow)


@pytest.mark.model
def test_a_checkpoint_whose_mask_says_nothing_can_move_shows_nothing_moving(tmp_path):
    """Poker reads the mask once per image and every video it draws is gated by it."""
    from ipoke_core.inference import load_poker

    torch.manual_seed(0)
    model = IPoke(_config(object_mask=True))
    with torch.no_grad():
        model.object_mask.to_logits.bias.fill_(-30.0)
    save_checkpoint(tmp_path / "ck", model)
    poker = load_poker(tmp_path / "ck", device="cpu")
    image = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    _, flow = poker.generate(image, [[Poke(10, 12, 3, 0)], [Poke(20, 20, 0, -3)]], with_flow=True)
    assert np.abs(flow).max() < 1e-6
    assert poker.has_object_mask and poker.object_mask(image).max() < 1e-6
    from app.model_info import model_summary

    assert "moves only what it sees as the object" in model_summary(poker)  # the side panel says why


def test_fine_tuning_adds_an_object_mask_that_learns_the_object_of_synthetic_data(data_dir, pretrained, tmp_path):  # noqa: F811
    """``--init-from`` a checkpoint without the mask: every old weight carries over, the mask starts
    fresh, learns alone for ``parts_steps`` from the true part maps, and its label loss falls."""
    cfg = tiny(stage1_steps=0, stage2_steps=60, parts_steps=60, parts_lr=1e-2, **QUIET)
    cfg.model.object_mask = True
    meta = fine_tune_only("object_mask", cfg, data_dir, pretrained, tmp_path / "ft")  # only the mask trained
    assert meta["model"]["object_mask"] is True
    loss = column(tmp_path / "ft", "object")
    assert len(loss) == 60
    assert sum(loss[-10:]) < 0.5 * sum(loss[:10])


def test_on_real_videos_an_object_mask_is_refused_before_the_run_folder_is_made(tmp_path, pretrained):  # noqa: F811
    """Real videos have no part maps to learn what can move from: refused before anything is written,
    as is a mask without its labels (``train.w_object=0``) on any data."""
    from ipoke_core.data.prepare import prepare_videos
    from ipoke_core.train.options import TrainingError

    from test_data_prepare import write_mp4

    (tmp_path / "videos").mkdir()
    write_mp4(tmp_path / "videos" / "slide.mp4", n_frames=16)
    write_mp4(tmp_path / "videos" / "other.mp4", n_frames=16, seed=3)
    prepare_videos(tmp_path / "videos", tmp_path / "prepared", size=32, spans=(4,))
    cfg = tiny(stage1_steps=0, stage2_steps=4, **QUIET)
    cfg.model.object_mask = True
    with pytest.raises(TrainingError, match="object_mask learns what can move from the true part maps"):
        train(TrainOptions(cfg, tmp_path / "prepared", tmp_path / "run", init_from=pretrained, progress=False))
    assert not (tmp_path / "run").exists()
    cfg.train.w_object = 0.0
    with pytest.raises(ConfigError, match="with 0 it would stay at 'everything moves'"):
        cfg.validate()


@pytest.mark.model
def test_what_the_mask_calls_background_never_moves_in_the_motion_heatmaps_read():
    """A background pixel that a moving part covers is drawn covered, not moving: the forward motion
    (heatmaps, drag, rigidity) is zero there, and the inverted flow elsewhere."""
    from ipoke_core.inference import Poker
    from ipoke_core.model.warp import invert_backward_flow

    torch.manual_seed(0)
    model = IPoke(_config(object_mask=True)).eval()
    with torch.no_grad():
        model.decoder.to_motion.weight.normal_(std=0.05)  # an untrained model that moves things
    object_left = torch.zeros(1, 1, 32, 32)
    object_left[..., :16] = 1
    model.object_mask.forward = lambda image: object_left.expand(image.shape[0], -1, -1, -1)
    poker = Poker(model, {}, "cpu")
    image = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    pokes = [Poke(10, 12, 3, 1), Poke(12, 20, -2, 2)]
    moved = poker.last_motion(image, pokes)
    assert np.abs(moved[:, :, 16:]).max() == 0
    _, flow = poker.generate(image, [[p] for p in pokes], with_flow=True)
    assert np.abs(flow[:, -1, :, 16:]).max() > 0  # ... though the drawn frames' flow reaches into it
    inverted = invert_backward_flow(torch.from_numpy(flow[:, -1]).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert np.allclose(moved[:, :, :16], inverted[:, :, :16], atol=1e-5)


def test_a_poke_acts_whole_when_its_point_can_move_and_not_at_all_when_it_cannot():
    """One decision per poke, at its point: a poke on a one-pixel stem keeps all of its square, a poke
    beside the stem none of it, though its square reaches the stem too."""
    from ipoke_core.model.object_mask import poke_where_movable

    movable = torch.zeros(1, 1, 32, 32)
    movable[..., 10] = 0.9  # a stem one pixel wide
    on_stem = rasterize([Poke(10, 12, 3, 0)], 32, 2, "shift", 4.0)[None]
    beside = rasterize([Poke(12, 20, 3, 0)], 32, 2, "shift", 4.0)[None]
    at_border = rasterize([Poke(0, 5, 3, 0)], 32, 2, "shift", 4.0)[None]  # a square cut by the image's edge
    assert torch.equal(poke_where_movable(on_stem, movable, 2), on_stem)
    assert poke_where_movable(beside, movable, 2).abs().max() == 0
    assert poke_where_movable(at_border, movable, 2).abs().max() == 0
    movable[..., 0] = 0.9
    assert torch.equal(poke_where_movable(at_border, movable, 2), at_border)
    both = on_stem + beside
    assert torch.equal(poke_where_movable(both, movable, 2), on_stem)


def test_a_poke_one_pixel_beside_a_thin_limb_still_pushes_it():
    """A user cannot hit a one-pixel stem exactly: one pixel off still pokes it, two pixels off
    (the test above) do not."""
    from ipoke_core.model.object_mask import poke_where_movable

    movable = torch.zeros(1, 1, 32, 32)
    movable[..., 10] = 0.9
    one_off = rasterize([Poke(11, 12, 3, 0)], 32, 2, "shift", 4.0)[None]
    assert torch.equal(poke_where_movable(one_off, movable, 2), one_off)
    assert poke_where_movable(one_off, movable, 2, reach=0).abs().max() == 0


@pytest.mark.model
def test_the_mask_is_read_once_per_image_and_again_for_another(tmp_path):
    """Live preview pokes one image many times: the mask net runs once for it, and again for a new image."""
    from ipoke_core.inference import Poker

    torch.manual_seed(0)
    model = IPoke(_config(object_mask=True)).eval()
    calls = []
    forward = model.object_mask.forward
    model.object_mask.forward = lambda image: calls.append(1) or forward(image)
    poker = Poker(model, {}, "cpu")
    rng = np.random.default_rng(0)
    a, b = ((rng.random((32, 32, 3)) * 255).astype(np.uint8) for _ in range(2))
    first = poker.generate(a, [[Poke(10, 12, 3, 0)]])
    again = poker.generate(a.copy(), [[Poke(10, 12, 3, 0)]])
    assert len(calls) == 1 and np.array_equal(first, again)
    poker.generate(b, [[Poke(10, 12, 3, 0)]])
    assert len(calls) == 2


def test_a_lower_movable_threshold_lets_a_poke_on_a_faint_edge_act():
    """The mask's decision is model.movable_threshold: a tight mask holds a thin part's edge near 0.2."""
    from ipoke_core.model.object_mask import poke_where_movable

    movable = torch.zeros(1, 1, 32, 32)
    movable[..., 10] = 0.2
    poke = rasterize([Poke(10, 12, 3, 0)], 32, 2, "shift", 4.0)[None]
    assert poke_where_movable(poke, movable, 2).abs().max() == 0
    assert torch.equal(poke_where_movable(poke, movable, 2, threshold=0.05), poke)
    with pytest.raises(ConfigError, match="movable_threshold"):
        ModelConfig(movable_threshold=0.0).validate()


def test_with_a_gate_reach_the_edge_of_a_part_moves_with_the_part():
    """A tight mask puts a part's anti-aliased edge on the gate's ramp: with gate_reach 1 it moves
    as much as the part, and the background two pixels out still does not."""
    movable = torch.zeros(1, 1, 16, 16)
    movable[..., 6:9] = 1.0
    movable[..., 9] = 0.4  # the edge
    flow = torch.zeros(1, 2, 16, 16)
    flow[:, 1] = 1.0  # straight down: where it points has the same mask as where it is
    assert gate_flow(flow, movable)[0, 1, 8, 9] < 0.5
    reached = gate_flow(flow, movable, reach=1)[0, 1]
    assert torch.allclose(reached[8, 9], torch.tensor(1.0)) and reached[8, 11].abs().max() == 0
    with pytest.raises(ConfigError, match="gate_reach"):
        ModelConfig(gate_reach=-1).validate()
