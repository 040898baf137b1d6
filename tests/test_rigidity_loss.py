"""The rigidity loss (``train.w_rigid``): a flow that moves each true part as one piece costs nothing more
than its floor, one that bends or leaks across a part's edge costs more, and a fine-tune with it
lowers it."""
from __future__ import annotations

import pytest
import torch

from ipoke_core.train import TrainOptions, train
from ipoke_core.train.losses import rigidity_loss

from test_finetune import QUIET, pretrained  # noqa: F401 - a short tiny run to fine-tune
from test_moving_parts import _two_parts
from test_train_loop import column, data_dir, tiny  # noqa: F401

EPS = 0.01  # the loss's Charbonnier floor: a perfectly rigid flow costs exactly this


def _scene() -> tuple[torch.Tensor, torch.Tensor]:
    """``(flow (1, 1, 2, 32, 32), parts (1, 32, 32))``: the left half turning and moving, the right still."""
    masks, flow = _two_parts()
    parts = torch.where(masks[0, 0] > 0, 0, 1).long()[None]
    return flow[:, None], parts


def test_a_rigid_motion_of_every_part_costs_only_the_floor_however_far_it_moves():
    flow, parts = _scene()
    assert rigidity_loss(flow, flow, parts).item() == pytest.approx(EPS, abs=1e-3)
    # the same parts moving twice as far (not what the truth does) is still rigid: not this loss's business
    assert rigidity_loss(2 * flow, flow, parts).item() == pytest.approx(EPS, abs=1e-3)


def test_flow_that_leaks_across_a_parts_edge_or_bends_inside_it_costs_more():
    flow, parts = _scene()
    leaked = torch.nn.functional.avg_pool2d(flow[:, 0], 5, 1, 2)[:, None]  # smeared over the edge
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    bent = flow.clone()
    bent[0, 0, 1] += 0.02 * (xs - 8) ** 2 * (xs < 16)  # a curve inside the moving part
    floor = rigidity_loss(flow, flow, parts).item()
    assert rigidity_loss(leaked, flow, parts).item() > floor + 0.03
    assert rigidity_loss(bent, flow, parts).item() > floor + 0.1


def test_the_background_counts_as_a_part_only_when_asked():
    """Motion on a still background (drag) is a non-rigid background with ``background=True``, and no
    business of the loss by default, which charges the parts alone."""
    flow, parts = _scene()
    parts = parts.clone()
    parts[0, :, 24:] = -1  # the right quarter is background now
    dragged = flow.clone()
    dragged[0, 0, 0, 8:24, 24:] += 0.8 * torch.exp(-torch.arange(8.0) ** 2 / 8)  # dragged beside the part
    assert rigidity_loss(dragged, flow, parts, background=True).item() > EPS + 0.02
    assert rigidity_loss(dragged, flow, parts).item() == pytest.approx(EPS, abs=1e-3)


def test_its_gradient_straightens_a_bent_flow():
    flow, parts = _scene()
    bent = flow.clone()
    bent[0, 0, 0] += 0.3 * torch.sin(torch.arange(32.0) / 3)[None, :]
    pred = bent.clone().requires_grad_(True)
    opt = torch.optim.SGD([pred], lr=20.0)
    before = rigidity_loss(pred, flow, parts).item()
    for _ in range(20):
        opt.zero_grad()
        rigidity_loss(pred, flow, parts).backward()
        opt.step()
    assert rigidity_loss(pred, flow, parts).item() < 0.5 * before


def test_fine_tuning_with_it_lowers_it_and_logs_it(data_dir, pretrained, tmp_path):  # noqa: F811
    cfg = tiny(stage1_steps=0, stage2_steps=40, lr=3e-3, w_flow=1.0, w_rigid=20.0, **QUIET)
    result = train(TrainOptions(cfg, data_dir, tmp_path / "ft", init_from=pretrained, progress=False))
    assert result.status == "finished"
    rigid = column(tmp_path / "ft", "rigid")
    assert len(rigid) == 40
    assert sum(rigid[-8:]) < 0.8 * sum(rigid[:8])


def test_rigidity_on_real_videos_is_refused_before_the_run_folder_is_made(tmp_path):
    """Real videos have no part maps: ``train.w_rigid`` says so at once, and writes nothing."""
    from ipoke_core.data.prepare import prepare_videos
    from ipoke_core.train.options import TrainingError

    from test_data_prepare import write_mp4

    (tmp_path / "videos").mkdir()
    write_mp4(tmp_path / "videos" / "slide.mp4", n_frames=16)
    write_mp4(tmp_path / "videos" / "other.mp4", n_frames=16, seed=3)
    prepare_videos(tmp_path / "videos", tmp_path / "prepared", size=32, spans=(4,))
    cfg = tiny(stage1_steps=0, stage2_steps=4, w_rigid=1.0, **QUIET)
    with pytest.raises(TrainingError, match="w_rigid needs the true part maps.*--set train.w_rigid=0"):
        train(TrainOptions(cfg, tmp_path / "prepared", tmp_path / "run", progress=False))
    assert not (tmp_path / "run").exists()
