"""The affinity-gated motion prior: the poke's spread stops where the poked thing ends (issue 32)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ipoke_core.checkpoint import load_checkpoint
from ipoke_core.inference import Poker
from ipoke_core.model import IPoke
from ipoke_core.model.affinity import PokeAffinity
from ipoke_core.paths import DEFAULT_CHECKPOINT, SAMPLES
from ipoke_core.poke import Poke, rasterize
from ipoke_core.train import TrainOptions, train

from test_train_loop import data_dir, tiny  # noqa: F401 - the tiny synthetic set and config of the loop tests

pytestmark = pytest.mark.model


def test_a_model_grown_with_the_gate_draws_its_parents_frames():
    """Adding the gate to a trained checkpoint starts from (almost exactly) the checkpoint's function."""
    parent, meta = load_checkpoint(DEFAULT_CHECKPOINT)
    grown = IPoke(dataclasses.replace(parent.cfg, motion_prior_affinity=True))
    missing, unexpected = grown.load_state_dict(parent.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("decoder.affinity.") for k in missing)
    a, b = Poker(parent, meta, "cpu", amp="off"), Poker(grown, meta, "cpu", amp="off")
    source, _ = a.prepare(SAMPLES / "plant_1.png")
    pokes = [[Poke(30, 24, 4.0, -2.0)], [Poke(40, 44, -3.0, 1.0)]]
    diff = np.abs(a.generate(source, pokes).astype(np.int16) - b.generate(source, pokes).astype(np.int16))
    assert diff.mean() < 0.05 and diff.max() <= 2, (diff.mean(), diff.max())


def test_the_gate_learns_to_hold_what_does_not_look_like_the_poked_point_still():
    """Trained only on "the left (green) half follows the poke, the right (grey) half stays", the gate
    opens on the poked look and closes on the other, next to each other."""
    torch.manual_seed(0)
    r = 32
    image = torch.full((1, 3, r, r), -0.2)
    image[..., : r // 2] = torch.tensor([-0.6, 0.6, -0.6]).view(1, 3, 1, 1)  # a green left half
    image = image + 0.05 * torch.randn_like(image)  # some texture
    poke = rasterize([Poke(10, 16, 3.0, 0.0)], r, 2)[None]
    gate_net = PokeAffinity()
    with torch.no_grad():
        assert float(gate_net(image, poke).min()) > 0.99  # starts open everywhere: the ungated prior
    left = torch.zeros(1, 1, r, r)
    left[..., : r // 2] = 1.0
    opt = torch.optim.Adam(gate_net.parameters(), lr=1e-2)
    for _ in range(150):
        loss = (gate_net(image, poke) - left).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        gate = gate_net(image, poke)[0, 0]
    assert float(gate[:, 3:13].mean()) > 0.9 and float(gate[:, 19:29].mean()) < 0.1


def test_fine_tuning_grows_the_gate_on_a_checkpoint_without_it(data_dir, tmp_path):
    run = train(TrainOptions(tiny(stage1_steps=1, stage2_steps=1, log_every=1, val_every=1000, sample_every=1000,
                                  ckpt_every=1000), data_dir, tmp_path / "parent", progress=False))
    cfg = tiny(stage1_steps=0, stage2_steps=1, lr=1e-12, log_every=1, val_every=1000, sample_every=1000,
               ckpt_every=1000)
    cfg.model.motion_prior_affinity = True
    grown = train(TrainOptions(cfg, data_dir, tmp_path / "grown", init_from=run.last_checkpoint.with_suffix(""),
                               progress=False))
    model, _ = load_checkpoint(grown.last_checkpoint.with_suffix(""))
    assert model.decoder.affinity is not None
    assert "new modules start from their initial weights" in (tmp_path / "grown" / "train.log").read_text()
