"""Losses of the training recipe: VGG weight loading, the fallback perceptual loss, GAN terms."""
from __future__ import annotations

import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from ipoke_core.errors import UserError
from ipoke_core.train import losses as L


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    """A torchvision-format VGG16 state dict (features + classifier head keys), random weights."""
    torch.manual_seed(0)
    features = make_layers(cfgs["D"])
    sd = {f"features.{k}": v for k, v in features.state_dict().items()}
    sd["classifier.6.weight"] = torch.zeros(10, 4)  # torchvision files also hold the classifier: ignored
    path = tmp_path_factory.mktemp("vgg") / "vgg16.pth"
    torch.save(sd, path)
    return path, sd


def test_vgg_weights_load_and_give_a_working_loss(vgg16_file):
    path, sd = vgg16_file
    loss = L.build_perceptual("auto", path)
    assert isinstance(loss, L.VGGPerceptual) and loss.name == "vgg:vgg16"
    # the loaded layers carry the file's values
    assert torch.equal(loss.features[0].weight, sd["features.0.weight"])
    assert torch.equal(loss.features[21].bias, sd["features.21.bias"])
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = torch.rand(2, 3, 32, 32) * 2 - 1
    assert float(loss(x, x)) == 0.0
    x.requires_grad_(True)
    d = loss(x, y)
    d.backward()
    assert d > 0 and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())  # VGG stays frozen


def test_vgg_loader_accepts_bare_features_dict(tmp_path, vgg16_file):
    _, sd = vgg16_file
    bare = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
    path = tmp_path / "trunk.pth"
    torch.save(bare, path)
    features, arch = L.load_vgg_features(path)
    assert arch == "vgg16" and torch.equal(features[2].weight, bare["2.weight"])


@pytest.mark.parametrize("content", ["text", "resnet", "wrong_shape", "missing"])
def test_wrong_vgg_file_fails_clearly(tmp_path, vgg16_file, content):
    path = tmp_path / "weights.pth"
    if content == "text":
        path.write_text("this is not a weights file")
        expect = "cannot read VGG weights"
    elif content == "resnet":
        torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(1000, 512)}, path)
        expect = "not a torchvision VGG16/VGG19 state dict"
    elif content == "wrong_shape":
        sd = dict(vgg16_file[1])
        sd["features.5.weight"] = torch.zeros(128, 32, 3, 3)
        torch.save(sd, path)
        expect = r"features.5.weight has shape \(128, 32, 3, 3\), vgg16 needs \(128, 64, 3, 3\)"
    else:
        path = tmp_path / "nope.pth"
        expect = "does not exist"
    with pytest.raises(L.VGGWeightsError, match=expect) as err:
        L.build_perceptual("auto", path)
    assert isinstance(err.value, UserError)
    assert str(path) in str(err.value)


def test_perceptual_choice_is_explicit():
    assert L.build_perceptual("auto", None).name == "fallback:l1+ssim+grad"
    with pytest.raises(L.VGGWeightsError, match="needs --vgg-weights"):
        L.build_perceptual("vgg", None)


def test_fallback_perceptual_ranks_distortions():
    torch.manual_seed(0)
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    loss = L.FallbackPerceptual()
    assert float(loss(img, img)) == pytest.approx(0.0, abs=1e-6)
    blurred = torch.nn.functional.avg_pool2d(img, 3, 1, 1)
    shifted = img + 0.05
    # a small brightness shift keeps structure (small loss); blurring destroys it (larger loss)
    assert float(loss(shifted, img)) < float(loss(blurred, img))
    assert float(L.ssim(img, img)) == pytest.approx(1.0, abs=1e-5)


def test_hinge_r1_and_feature_matching():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # hinge: only real logits below 1 and fake logits above -1 cost
    assert float(L.hinge_d_loss(real, fake)) == pytest.approx(0.5 / 2 + 1.0 / 2)
    assert float(L.hinge_g_loss(fake)) == pytest.approx(1.0)
    x = torch.randn(3, 4, requires_grad=True)
    w = torch.randn(4)
    logits = x @ w  # gradient wrt each row is w, so R1 = |w|^2
    assert float(L.r1_penalty(logits, x)) == pytest.approx(float(w.pow(2).sum()), rel=1e-5)
    f = [torch.ones(2, 3), torch.zeros(2, 5)]
    assert float(L.feature_matching(f, [torch.zeros(2, 3), torch.zeros(2, 5)])) == pytest.approx(0.5)


def test_latent_loss_matches_states_to_targets():
    b, t = 2, 3
    target = [torch.randn(b, t, 4, 8, 8), torch.randn(b, t, 2, 16, 16)]
    states = [[target[0][:, i], target[1][:, i]] for i in range(t)]
    assert float(L.latent_loss(states, target)) == 0.0
    states[1][0] = states[1][0] + 1.0  # one level of one step off by 1 -> mean sq error 1/t on that level
    assert float(L.latent_loss(states, target)) == pytest.approx((1.0 / t) / 2)


def test_ssim_is_fp32_under_autocast():
    """bf16 SSIM on flat regions is noise (it made GPU training diverge): the loss ignores the autocast."""
    from ipoke_core.train.losses import ssim

    torch.manual_seed(0)
    x = torch.full((4, 3, 32, 32), 0.37)
    x[:, :, 8:20, 8:20] = -0.5
    y = x + 0.01 * torch.randn_like(x)
    full = ssim(x, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = ssim(x, y)
    assert mixed.dtype == torch.float32
    assert abs(float(mixed) - float(full)) < 1e-6
