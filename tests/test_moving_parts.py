"""Motion by parts (``model.part_masks``): a part moves as one piece, the masks learn parts from what
moves together, and a checkpoint without parts can be fine-tuned into one with them."""
from __future__ import annotations

import math

import numpy as np

import pytest
import torch

from ipoke_core.config import ConfigError, ModelConfig
from ipoke_core.model import IPoke
from ipoke_core.model.parts import PartMasks, affine_fits, fit_parts, grouping_loss, part_label_loss, project_flow
from ipoke_core.poke import Poke, rasterize
from ipoke_core.train import TrainOptions, train

from test_finetune import QUIET, fine_tune_only, pretrained  # noqa: F401 - a short tiny run without parts
from test_train_loop import column, data_dir, tiny  # noqa: F401


def _two_parts(r: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot masks ``(1, 2, r, r)`` of the source, a left and a right half, and the backward flow
    ``(1, 2, r, r)`` of a frame in which the left half has rotated by 0.05 rad about its centre and moved
    by (-1, 0.5) px, the right half standing still. As in the simulator, a pixel of the frame belongs
    to the left part when the point it came from lies on the left half of the source."""
    masks = torch.zeros(1, 2, r, r)
    masks[0, 0, :, : r // 2] = 1
    masks[0, 1, :, r // 2:] = 1
    ys, xs = torch.meshgrid(torch.arange(r, dtype=torch.float32), torch.arange(r, dtype=torch.float32), indexing="ij")
    cx, cy, a = (r // 2 - 1) / 2, (r - 1) / 2, 0.05
    fx = (math.cos(a) - 1) * (xs - cx) - math.sin(a) * (ys - cy) + 1.0
    fy = math.sin(a) * (xs - cx) + (math.cos(a) - 1) * (ys - cy) - 0.5
    came_from_left = (xs + fx) < r // 2 - 0.5
    flow = torch.stack([fx, fy])[None] * came_from_left
    return masks, flow


def test_each_parts_fit_reproduces_a_rigid_motion():
    """To within a hundredth of a pixel: the ridge that keeps tiny parts well posed shrinks a 16 px
    wide part's rotation by under 1 %."""
    _, flow = _two_parts()
    left = flow[0, 0] != 0
    fits = affine_fits(flow, torch.stack([left, ~left])[None].float())
    assert torch.allclose(fits[0, 0][:, left], flow[0][:, left], atol=0.01)
    assert fits[0, 1].abs().max() < 1e-5


def test_projected_flow_moves_a_part_as_one_piece_and_adds_no_motion_to_any_part():
    """A smooth blob of flow over the edge between two parts: after projection the part under the
    blob moves as a whole (one affine motion); on every part the projection is a least-squares fit,
    so it never moves a part more, in total, than the dense flow did (the still neighbour keeps
    only the fit of the blob's tail, spread over the part: training must make the dense flow still there)."""
    r = 32
    masks, _ = _two_parts(r)
    ys, xs = torch.meshgrid(torch.arange(r, dtype=torch.float32), torch.arange(r, dtype=torch.float32), indexing="ij")
    blob = torch.exp(-((xs - 10) ** 2 + (ys - 16) ** 2) / (2 * 4.0**2))
    dense = torch.stack([blob * 2.0, blob * 0.5])[None]
    projected = project_flow(dense, masks)
    for k in range(2):
        on = masks[0, k].bool()
        assert projected[0][:, on].norm() <= dense[0][:, on].norm() + 1e-6
    left = masks[0, 0].bool()
    assert projected[0, 0][left].std() < 0.6 * dense[0, 0][left].std()  # more uniform than the blob


def test_grouping_loss_prefers_masks_that_follow_the_parts():
    masks, flow = _two_parts()
    video_flow = flow[:, None].repeat(1, 3, 1, 1, 1) * torch.tensor([0.5, 1.0, 1.5]).view(1, 3, 1, 1, 1)
    one = torch.zeros_like(masks)
    one[:, 0] = 1
    top_bottom = torch.zeros_like(masks)
    top_bottom[0, 0, :16] = 1
    top_bottom[0, 1, 16:] = 1
    right = grouping_loss(masks, video_flow)
    # (not 0: where the moved half uncovers the source, pixels stand still on what was the half)
    assert grouping_loss(one, video_flow) > 2 * right
    assert grouping_loss(top_bottom, video_flow) > 2 * right
    assert float(grouping_loss(masks, torch.zeros_like(video_flow))) == 0.0  # nothing moves: nothing to explain


def test_part_masks_learn_the_parts_that_move_apart():
    """A few hundred steps of the grouping loss alone, on images whose left and right halves differ in
    colour and move apart: the masks split the image where the motion does."""
    torch.manual_seed(0)
    masks, flow = _two_parts()
    image = torch.where(masks[:, :1].bool(), torch.tensor([0.6, -0.2, 0.1]).view(1, 3, 1, 1),
                        torch.tensor([-0.5, 0.3, 0.4]).view(1, 3, 1, 1))
    net = PartMasks(4, width=8)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    video_flow = flow[:, None].repeat(2, 2, 1, 1, 1)
    first = None
    for _ in range(150):
        loss = grouping_loss(net(image.repeat(2, 1, 1, 1)), video_flow)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
    assert loss.item() < 1.1 * float(grouping_loss(masks.repeat(2, 1, 1, 1), video_flow))  # as good as the true halves
    labels = net(image).argmax(1)[0]
    assert (labels[:, :14] == labels[0, 0]).float().mean() > 0.9
    assert (labels[:, 18:] != labels[0, 0]).float().mean() > 0.9


def _labelled_parts() -> tuple[torch.Tensor, torch.Tensor]:
    """A true part map ``(2, 12, 12)`` (background -1, a bar 0 above a bar 1) and masks ``(2, 4, 12, 12)``
    holding the background in mask 0, bar 0 in mask 3 and bar 1 in mask 1."""
    parts = torch.full((2, 12, 12), -1)
    parts[:, 2:5, 2:10] = 0
    parts[:, 7:10, 1:11] = 1
    masks = torch.zeros(2, 4, 12, 12)
    for k, label in ((0, -1), (3, 0), (1, 1)):
        masks[:, k] = (parts == label).float()
    return parts, masks


def test_part_label_loss_asks_for_the_true_parts_in_any_masks_but_not_one_mask_for_all():
    parts, masks = _labelled_parts()
    assert part_label_loss(masks, parts, still=True) < 0.01
    assert part_label_loss(masks[:, [2, 0, 3, 1]], parts) < 0.01  # which mask holds a part does not matter
    assert part_label_loss(masks[:, [2, 0, 3, 1]], parts, still=True) > 1  # ... but the background's must be 0
    merged = masks.clone()
    merged[:, 1] += merged[:, 3]
    merged[:, 3] = 0
    assert part_label_loss(merged, parts, still=True) > 1  # two parts in one mask
    assert part_label_loss(torch.full_like(masks, 0.25), parts, still=True) > 1


def test_part_masks_learn_two_parts_that_look_alike_from_their_labels():
    """The grouping loss can only split what moves apart; with the part map, two bars of one colour that
    never moved apart still get a mask each."""
    torch.manual_seed(0)
    parts, _ = _labelled_parts()
    image = torch.where((parts >= 0)[:, None], torch.tensor([0.6, -0.2, 0.1]).view(1, 3, 1, 1),
                        torch.tensor([-0.5, 0.3, 0.4]).view(1, 3, 1, 1))
    net = PartMasks(4, width=8)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(150):
        loss = part_label_loss(net(image), parts, still=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
    labels = net(image).argmax(1)[0]
    assert (labels[parts[0] == -1] == 0).float().mean() > 0.9
    top, bottom = labels[parts[0] == 0], labels[parts[0] == 1]
    assert (top == top.mode().values).float().mean() > 0.9 and (bottom == bottom.mode().values).float().mean() > 0.9
    assert top.mode().values != bottom.mode().values and 0 not in (top.mode().values, bottom.mode().values)


@pytest.mark.model
def test_a_model_with_parts_returns_its_masks_and_moves_by_them():
    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=3, decoder="warp",
                      poke_every_level=True, poke_gain=8.0, poke_scale=4.0, part_masks=4)
    model = IPoke(cfg).eval()
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    poke = torch.stack([rasterize([Poke(10, 12, 3, 0)], 32, 2, "shift", 4.0)] * 2)
    with torch.inference_mode():
        out = model.animate(image, poke)
    assert out.parts.shape == (2, 4, 32, 32)
    assert torch.allclose(out.parts.sum(1), torch.ones(2, 32, 32), atol=1e-5)
    assert out.flow.shape == (2, 3, 2, 32, 32) and torch.isfinite(out.video).all()


def test_part_masks_need_the_warp_decoder_and_at_least_two_parts():
    with pytest.raises(ConfigError, match="part_masks"):
        ModelConfig(decoder="pixel", part_masks=4).validate()
    with pytest.raises(ConfigError, match=r"part_masks must be 0 \(off\) or a whole number in \[2, 64\]"):
        ModelConfig(decoder="warp", part_masks=1).validate()


def test_fine_tuning_adds_parts_to_a_checkpoint_without_them(data_dir, pretrained, tmp_path):  # noqa: F811
    """``--init-from`` a parts-less checkpoint: every old weight carries over, the masks start fresh,
    learn alone for ``parts_steps`` (nothing else changes meanwhile) and the grouping loss falls."""
    cfg = tiny(stage1_steps=0, stage2_steps=80, parts_steps=80, lr=3e-3, **QUIET)
    cfg.model.part_masks = 4
    meta = fine_tune_only("part_masks", cfg, data_dir, pretrained, tmp_path / "ft")  # only the masks trained
    assert meta["model"]["part_masks"] == 4
    grouping = column(tmp_path / "ft", "grouping")
    assert len(grouping) == 80
    assert sum(grouping[-10:]) < 0.8 * sum(grouping[:10])


def test_fine_tuning_teaches_the_masks_the_true_parts_of_synthetic_data(data_dir, pretrained, tmp_path):  # noqa: F811
    """``train.w_part_labels`` on a synthetic data set: the batches carry each source's part map and the
    part-label loss falls while the masks train alone."""
    cfg = tiny(stage1_steps=0, stage2_steps=60, parts_steps=60, lr=3e-3, w_grouping=0.0, w_part_labels=1.0, **QUIET)
    cfg.model.part_masks, cfg.model.still_part = 6, True
    result = train(TrainOptions(cfg, data_dir, tmp_path / "ft", init_from=pretrained, progress=False))
    assert result.status == "finished"
    labels = column(tmp_path / "ft", "part_labels")
    assert len(labels) == 60 and not column(tmp_path / "ft", "grouping")
    assert sum(labels[-10:]) < 0.8 * sum(labels[:10])


@pytest.mark.model
def test_a_checkpoint_with_parts_gives_its_masks_to_the_parts_view(tmp_path):
    """Poker computes the masks once per image and the parts view reads them as its labels."""
    from ipoke_core.analysis.parts import parts_for_image
    from ipoke_core.checkpoint import save_checkpoint
    from ipoke_core.inference import load_poker

    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=8, depth=2, seq_len=3, decoder="warp",
                      poke_every_level=True, poke_gain=8.0, poke_scale=4.0, part_masks=3)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "ck", IPoke(cfg))
    poker = load_poker(tmp_path / "ck", device="cpu")
    assert poker.has_part_masks
    image = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    masks = poker.part_masks(image)
    assert masks.shape == (3, 32, 32) and np.allclose(masks.sum(0), 1, atol=1e-4)
    res = parts_for_image(poker, image, grid=8, directions=2, length=2.0, still_threshold=0.0)
    assert set(np.unique(res.labels)) <= set(range(3)) | {-1}
    assert np.isnan(res.silhouette)  # from the masks, not clustered


def test_the_still_part_never_moves_and_is_where_still_pixels_belong():
    """With ``still_part`` part 0 stands still whatever the dense flow says; the grouping loss charges
    the motion it holds, so what moves must leave it and what never moves may stay in it."""
    masks, flow = _two_parts()
    right_first = masks.flip(1)  # part 0 = the still right half, part 1 = the moving left half
    leak = flow + 0.3 * (1 - masks[:, :1])  # a little flow leaks onto the still half
    projected = project_flow(leak, right_first, still=True)
    assert projected[0][:, masks[0, 1].bool()].abs().max() == 0  # exactly still
    without = project_flow(leak, right_first, still=False)
    assert without[0][:, masks[0, 1].bool()].abs().mean() > 0.2  # the leak, fitted and kept
    video = flow[:, None]
    assert grouping_loss(right_first, video, still=True) < 0.5 * grouping_loss(masks, video, still=True)
    with pytest.raises(ConfigError, match="still_part needs model.part_masks"):
        ModelConfig(decoder="warp", still_part=True).validate()


def test_parts_absent_from_a_frame_never_make_the_fit_singular():
    """Masks of next to nothing (float32 cancellation territory) and empty ones: finite fits."""
    masks = torch.zeros(3, 16, 32, 32)
    masks[:, 0] = 1.0
    masks[:, 1, 10:14, 10:14] = 1e-7  # next to nothing: float32 cancellation territory
    masks[:, 0, 10:14, 10:14] -= 1e-7
    flow = torch.randn(3, 2, 32, 32)
    out = project_flow(flow, masks, still=False)
    assert torch.isfinite(out).all()
    fit = fit_parts(flow, masks)
    assert torch.isfinite(fit.lin).all() and torch.isfinite(fit.residual).all()


def test_part_labels_on_real_videos_are_refused_before_the_run_folder_is_made(tmp_path):
    """Real videos have no part maps: ``train.w_part_labels`` says so at once, and writes nothing."""
    from ipoke_core.data.prepare import prepare_videos
    from ipoke_core.train.options import TrainingError

    from test_data_prepare import write_mp4

    (tmp_path / "videos").mkdir()
    write_mp4(tmp_path / "videos" / "slide.mp4", n_frames=16)
    write_mp4(tmp_path / "videos" / "other.mp4", n_frames=16, seed=3)
    prepare_videos(tmp_path / "videos", tmp_path / "prepared", size=32, spans=(4,))
    cfg = tiny(stage1_steps=0, stage2_steps=4, parts_steps=4, w_part_labels=1.0, **QUIET)
    cfg.model.part_masks = 4
    with pytest.raises(TrainingError, match="w_part_labels needs the true part maps"):
        train(TrainOptions(cfg, tmp_path / "prepared", tmp_path / "run", progress=False))
    assert not (tmp_path / "run").exists()
    from ipoke_core.data import DatasetError, PokeDataset

    with pytest.raises(DatasetError, match="part targets need the simulator's part maps"):
        PokeDataset(tmp_path / "prepared", resolution=32, seq_len=4, part_targets=True)
