"""PSNR, SSIM and the Fréchet distance against hand-computed values."""
import math

import numpy as np
import pytest

from ipoke_core.metrics import frechet_distance, gaussian_stats, psnr, ssim


def test_psnr_of_known_noise(rng):
    target = rng.integers(20, 236, (2, 3, 16, 16, 3)).astype(np.uint8)
    noise = np.where(rng.random(target.shape) < 0.5, -5, 5)
    pred = (target.astype(int) + noise).astype(np.uint8)  # no clipping: target in [20, 235]
    got = psnr(pred, target)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, 10 * math.log10(255 ** 2 / 25), atol=1e-9)  # MSE is exactly 25


def test_psnr_identical_is_capped_not_inf(rng):
    a = rng.integers(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    assert np.all(psnr(a, a) == 100.0)


def test_ssim_identical_is_one(rng):
    a = rng.integers(0, 256, (2, 5, 32, 32, 3)).astype(np.uint8)
    got = ssim(a, a)
    assert got.shape == (2, 5)
    np.testing.assert_allclose(got, 1.0, atol=1e-12)


def test_ssim_of_constant_images_is_luminance_term():
    # constant images: variances and covariance vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b = 0.3, 0.7
    x = np.full((1, 20, 20, 3), a, np.float32)
    y = np.full((1, 20, 20, 3), b, np.float32)
    c1 = 0.01 ** 2
    np.testing.assert_allclose(ssim(x, y), (2 * a * b + c1) / (a * a + b * b + c1), rtol=1e-5)


def test_ssim_matches_naive_window_loop(rng):
    # 13x13 frames, 11x11 window: 3x3 valid positions, each computed directly from its definition
    a = rng.random((13, 13, 3))
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1)
    x = np.arange(11) - 5.0
    g = np.exp(-x * x / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    vals = []
    for c in range(3):
        for i in range(3):
            for j in range(3):
                pa, pb = a[i:i + 11, j:j + 11, c], b[i:i + 11, j:j + 11, c]
                ma, mb = (w * pa).sum(), (w * pb).sum()
                va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
                cov = (w * (pa - ma) * (pb - mb)).sum()
                vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    got = ssim(b[None].astype(np.float32), a[None].astype(np.float32))
    assert got[0] == pytest.approx(np.mean(vals), abs=1e-5)
    assert got[0] < 0.95
    with pytest.raises(ValueError, match="differ in shape"):
        ssim(a[None], a[None, :12])


def test_frechet_identical_is_zero_and_shift_is_squared_norm(rng):
    f = rng.normal(size=(500, 6))
    mu, sigma = gaussian_stats(f)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)
    shift = np.array([1.0, -2.0, 0.5, 0, 0, 3.0])
    assert frechet_distance(mu, sigma, mu + shift, sigma) == pytest.approx(float(shift @ shift), rel=1e-8)


def test_frechet_different_covariances_closed_form():
    # diagonal covariances: tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(a) - sqrt(b))^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu1, mu2 = np.zeros(3), np.array([0.0, 1.0, 0.0])
    expected = 1.0 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # and a non-diagonal pair against the eigen-free definition via a rotation
    rot = np.array([[0.6, -0.8, 0], [0.8, 0.6, 0], [0, 0, 1.0]])
    assert frechet_distance(mu1, rot @ np.diag(a) @ rot.T, mu2, rot @ np.diag(b) @ rot.T) == pytest.approx(expected, rel=1e-9)
