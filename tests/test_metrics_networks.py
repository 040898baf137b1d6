"""LPIPS and I3D: loading weight files written here, clear errors on wrong files, basic properties."""
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ipoke_core.metrics import WeightsError
from ipoke_core.metrics.fvd import I3DEmbedder, fvd_from_features
from ipoke_core.metrics.i3d import InceptionI3d
from ipoke_core.metrics.lpips import CHANNELS, LPIPS, lpips_frames


@pytest.fixture(scope="module")
def lpips_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("lpips")
    torch.manual_seed(0)
    trunk = LPIPS().trunk
    # torchvision's vgg16 state-dict layout, "features.N.weight"
    torch.save({f"features.{k}": v for k, v in trunk.state_dict().items()}, d / "vgg16.pth")
    # the official lpips package layout: lin{k}.model.1.weight, non-negative weights
    torch.save({f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(CHANNELS)}, d / "lin.pth")
    return d / "vgg16.pth", d / "lin.pth"


def test_lpips_zero_on_identical_positive_otherwise(lpips_files, rng):
    model = LPIPS.from_files(*lpips_files)
    a = rng.integers(0, 256, (2, 3, 32, 32, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-60, 60, a.shape), 0, 255).astype(np.uint8)
    same = lpips_frames(model, a, a)
    diff = lpips_frames(model, a, b)
    assert same.shape == (2, 3)
    np.testing.assert_allclose(same, 0.0, atol=1e-6)
    assert np.all(diff > 1e-4)


def test_lpips_wrong_files_fail_clearly(lpips_files, tmp_path):
    vgg, lin = lpips_files
    with pytest.raises(WeightsError, match="no such file"):
        LPIPS.from_files(tmp_path / "missing.pth", lin)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="not a readable state dict"):
        LPIPS.from_files(tmp_path / "junk.pth", lin)
    # the files swapped: the lin file has no VGG keys
    with pytest.raises(WeightsError, match="no VGG16"):
        LPIPS.from_files(lin, vgg)
    torch.save({"lin0.model.1.weight": torch.rand(1, 3, 1, 1)}, tmp_path / "badlin.pth")
    with pytest.raises(WeightsError, match="does not fit"):
        LPIPS.from_files(vgg, tmp_path / "badlin.pth")


def test_i3d_loads_safetensors_and_gives_fvd(tmp_path, rng):
    torch.manual_seed(0)
    net = InceptionI3d(num_classes=400)
    save_file(net.state_dict(), str(tmp_path / "i3d.safetensors"))
    emb = I3DEmbedder(tmp_path / "i3d.safetensors", size=32)  # 224 in real use; 32 keeps the test fast
    videos = rng.integers(0, 256, (2, 10, 32, 32, 3)).astype(np.uint8)
    f = emb.embed(videos, batch_size=2)
    assert f.shape == (2, 400) and np.isfinite(f).all()
    assert fvd_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    # a state dict of another network is refused, naming the keys
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="does not fit.*missing: Conv3d_1a_7x7"):
        I3DEmbedder(tmp_path / "other.pth")

