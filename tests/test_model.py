"""Shapes, value ranges and structure of the iPOKE network and its discriminators."""
import pytest
import torch

from ipoke_core.config import ConfigError, ModelConfig, default_model_config, paper_model_config
from ipoke_core.model import IPoke, PatchDiscriminator, TemporalDiscriminator


def tiny(**kw) -> ModelConfig:
    base = dict(resolution=32, channels=[8, 16, 16], bottleneck=8, depth=3, seq_len=4)
    base.update(kw)
    return ModelConfig(**base)


@pytest.mark.parametrize("cfg", [tiny(), tiny(resolution=64, channels=[8, 16, 16]), tiny(dynamics="single_gru"),
                                 tiny(depth=1), default_model_config(64)])
def test_forward_shapes_and_range(cfg):
    torch.manual_seed(0)
    model = IPoke(cfg)
    r, b = cfg.resolution, 2
    img = torch.rand(b, 3, r, r) * 2 - 1
    poke = torch.zeros(b, 2, r, r)
    poke[:, :, 10:13, 10:13] = 0.5
    video, states = model(img, poke)
    assert video.shape == (b, cfg.seq_len, 3, r, r)
    assert video.min() >= -1 and video.max() <= 1
    assert len(states) == cfg.seq_len
    levels = model.encode(img)
    assert [lv.shape[-1] for lv in levels] == cfg.level_sizes()
    assert [lv.shape[1] for lv in levels] == cfg.channels
    for k, level in enumerate(model.dynamic_levels):
        assert states[0][k].shape == levels[level].shape
    assert model.autoencode(img).shape == img.shape


def test_hierarchy_depth_changes_the_model():
    """K GRU cells on the K coarsest levels; the decoder is fed at exactly those scales."""
    shapes = {}
    for k in (1, 2, 3):
        m = IPoke(tiny(depth=k))
        assert len(m.dynamics.cells) == k
        assert m.dynamic_levels == [2, 1, 0][:k]
        assert sorted(int(i) for i in m.decoder.fuse) == sorted(set(m.dynamic_levels) - {2})
        shapes[k] = sum(p.numel() for p in m.parameters())
    assert shapes[1] < shapes[2] < shapes[3]


def test_finer_levels_are_driven_by_the_coarse_poke():
    """Changing only the poke changes the predicted states at every level (information flows down the hierarchy)."""
    torch.manual_seed(0)
    m = IPoke(tiny()).eval()
    img = torch.rand(1, 3, 32, 32) * 2 - 1
    p1, p2 = torch.zeros(1, 2, 32, 32), torch.zeros(1, 2, 32, 32)
    p2[:, 0, 4:9, 4:9] = 1.0
    with torch.no_grad():
        _, s1 = m(img, p1)
        _, s2 = m(img, p2)
    for k in range(3):
        assert not torch.allclose(s1[-1][k], s2[-1][k])


def test_single_gru_ablation_runs_at_the_bottleneck_only():
    m = IPoke(tiny(dynamics="single_gru", depth=3))
    assert m.dynamic_levels == [2]
    assert len(m.dynamics.cells) == 3
    assert len(m.decoder.fuse) == 0


def test_paper_preset_matches_the_paper_widths():
    cfg = paper_model_config(64)
    assert cfg.channels == [128, 256, 512] and cfg.level_sizes() == [32, 16, 16] and cfg.depth == 3
    n = sum(p.numel() for p in IPoke(cfg).parameters())
    assert 25e6 < n < 45e6  # the official model has about 39 M parameters
    assert paper_model_config(128).depth == 4


def test_invalid_configs_are_refused_with_a_reason():
    with pytest.raises(ConfigError, match="power of two"):
        ModelConfig(resolution=48).validate()
    with pytest.raises(ConfigError, match="depth"):
        ModelConfig(depth=5).validate()
    with pytest.raises(ConfigError, match="dynamics"):
        ModelConfig(dynamics="lstm").validate()


def test_discriminators():
    d = PatchDiscriminator(32, channels=8)
    logits, feats = d(torch.rand(3, 3, 32, 32))
    assert logits.shape[:2] == (3, 1) and len(feats) >= 2
    td = TemporalDiscriminator(width=8)
    logits, feats = td(torch.rand(2, 4, 3, 32, 32))
    assert logits.shape == (2,) and len(feats) == 5
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in td.modules())


def test_temporal_discriminator_is_torchvision_r3d18():
    from torchvision.models.video import r3d_18

    td = TemporalDiscriminator(width=64)
    ref = r3d_18(weights=None, num_classes=1)
    assert sum(p.numel() for p in td.parameters()) == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-6), (torch.bfloat16, 0.008)])
def test_blocks_elu_is_torchs_elu_in_inference_and_training(dtype, atol):
    """The blocks' ELU (vectorised on the CPU; PyTorch's runs expm1 one element at a time) computes
    PyTorch's ELU: in inference, in place, in either layout and precision (bf16: one rounding more),
    and in training with PyTorch's gradient."""
    import torch.nn.functional as F

    from ipoke_core.model.blocks import ELU

    torch.manual_seed(0)
    for layout in (torch.channels_last, torch.contiguous_format):
        x = (torch.randn(2, 8, 16, 16) * 3).to(dtype).contiguous(memory_format=layout)
        expected = F.elu(x.double())
        with torch.inference_mode():
            y = x.clone()
            out = ELU()(y)
        assert out.data_ptr() == y.data_ptr()  # in place, as nn.ELU(inplace=True)
        torch.testing.assert_close(out.double(), expected, atol=atol, rtol=0)
    leaf = torch.randn(2, 8, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ELU()(t * 1), (leaf,))


def test_norm_layer_computes_instance_norm_and_loads_its_weights():
    """The blocks' norm (a GroupNorm per channel, faster on the CPU) is the InstanceNorm2d that the bundled
    checkpoints were trained with: same parameter names, same output in either memory layout."""
    from torch import nn

    from ipoke_core.model.blocks import InstanceNorm

    torch.manual_seed(0)
    reference = nn.InstanceNorm2d(8, affine=True)
    nn.init.normal_(reference.weight)
    nn.init.normal_(reference.bias)
    norm = InstanceNorm(8)
    norm.load_state_dict(reference.state_dict(), strict=True)
    for size in (8, 40):  # both routes: small maps in the contiguous layout, larger ones as they come
        for layout in (torch.channels_last, torch.contiguous_format):
            x = (torch.randn(3, 8, size, size) * 4 + 2).contiguous(memory_format=layout)
            out = norm(x)
            torch.testing.assert_close(out, reference(x), atol=1e-5, rtol=1e-5)
            assert out.is_contiguous(memory_format=layout)
