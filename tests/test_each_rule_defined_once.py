"""Each rule is defined once and used everywhere: validation reports `ipoke eval`'s PSNR/SSIM, the config's
data section takes the model's sizes, one device choice, one poke colour, one verb table."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ipoke_core.config import ConfigError, config_from_dict, load_config

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model


def test_validation_reports_the_metrics_packages_psnr_and_ssim():
    from ipoke_core.inference import to_uint8
    from ipoke_core.metrics import psnr, ssim
    from ipoke_core.train.distributed import DistInfo
    from ipoke_core.train.validation import validate

    torch.manual_seed(0)
    b, t, r = 2, 3, 32
    frames = torch.rand(b, t, 3, r, r) * 2 - 1
    video = (frames + 0.1 * torch.randn_like(frames)).clamp(-1, 1)
    items = {"source": frames[:, 0], "frames": frames, "poke_map": torch.zeros(b, 2, r, r),
             "poke": torch.zeros(b, 4), "is_background": torch.zeros(b, dtype=torch.bool)}
    engine = SimpleNamespace(channels_last=False, generate=lambda batch: (video, None),
                             reconstruct=lambda images: images.float())
    val = validate(engine, [items], lambda a, b: (a - b).abs().mean(), DistInfo().device)
    gen8, tgt8 = to_uint8(video.reshape(b * t, 3, r, r)), to_uint8(frames.reshape(b * t, 3, r, r))
    assert val["val_psnr"] == pytest.approx(float(psnr(gen8, tgt8).mean()), rel=1e-12)
    assert val["val_ssim"] == pytest.approx(float(ssim(gen8, tgt8).mean()), rel=1e-12)


def test_loss_ssim_and_metric_ssim_share_the_equation():
    from ipoke_core.metrics.ssim import ssim_map
    from ipoke_core.train.losses import ssim as loss_ssim

    x = torch.rand(2, 3, 16, 16) * 2 - 1
    # with an identity "blur" SSIM is the per-pixel luminance-contrast formula; the loss uses the same map
    assert torch.allclose(ssim_map(x, x, lambda v: v), torch.ones_like(x))
    assert float(loss_ssim(x, x)) == pytest.approx(1.0, abs=1e-5)


def test_data_section_repeats_the_model_sizes_and_must_agree():
    cfg = load_config("tiny")
    d = cfg.to_dict()
    for key in ("resolution", "seq_len", "poke_mode"):
        assert d["data"][key] == d["model"][key]
        assert not hasattr(cfg.data, key)  # one source of truth: the model's
    assert config_from_dict(d).to_dict() == d
    # a [data] table without them (or with them, agreeing) loads; a disagreeing one is refused
    del d["data"]["seq_len"]
    assert config_from_dict(d).model.seq_len == cfg.model.seq_len
    d["data"]["seq_len"] = cfg.model.seq_len + 1
    with pytest.raises(ConfigError, match=r"data.seq_len \(\d+\) differs from model.seq_len"):
        config_from_dict(d)


def test_resolve_device_is_one_rule(monkeypatch):
    from ipoke_core import device as device_mod
    from ipoke_core.device import DeviceError, resolve_amp, resolve_device
    from ipoke_core.errors import UserError

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("mps", "meta", "bogus"):
        with pytest.raises(DeviceError):
            resolve_device(bad)
    assert issubclass(DeviceError, UserError)
    monkeypatch.setattr(device_mod, "cpu_has_bf16_units", lambda: False)  # a CPU without bf16 units
    assert resolve_amp("auto", torch.device("cpu")) is None


def test_poke_colour_and_colormaps_come_from_the_core():
    pytest.importorskip("PySide6")
    from app.canvas import POKE_COLOR as APP_POKE
    from app.heatmap_view import COLORMAPS as APP_MAPS
    from ipoke_core.analysis.render import COLORMAPS
    from ipoke_core.poke import POKE_COLOR

    assert (APP_POKE.red(), APP_POKE.green(), APP_POKE.blue()) == POKE_COLOR
    assert APP_MAPS and set(APP_MAPS) <= set(COLORMAPS)


def test_exported_arrow_is_the_poke_colour():
    from ipoke_core.export import draw_pokes
    from ipoke_core.poke import POKE_COLOR, Poke

    img = draw_pokes(np.zeros((64, 64, 3), np.uint8), [Poke(10, 10, 30, 0)], scale=1.0)
    assert (img == np.array(POKE_COLOR, np.uint8)).all(-1).any()


def test_cli_verbs_are_a_static_table():
    from ipoke_core import cli

    assert list(cli.VERBS) == ["poke", "heatmap", "parts", "check-photo", "synth", "prepare", "train", "plot", "eval",
                               "ablate", "bench", "init-checkpoint", "derive", "info"]
    assert all(hasattr(m, "run") and hasattr(m, "add_arguments") for m in cli.VERBS.values())
