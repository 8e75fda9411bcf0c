"""Tests for mri_inpaint.evaluate: metrics, inference, self-ensemble and method comparison."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from mri_inpaint import evaluate as ev
from mri_inpaint.masks import StripeParams, corrupt, stripe_mask
from mri_inpaint.model import InpaintNet


# ---------------------------------------------------------------- helpers
def slanted_mask(shape=(64, 64)) -> np.ndarray:
    """A slanted stripe mask (period 4.1, width 2, slant -0.3), about half missing."""
    return stripe_mask(StripeParams(period=4.1, width=2.0, slant=-0.3, phase=0.1, shape=shape))


def random_images(n=3, shape=(64, 64), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, size=(n, 1, *shape)).astype(np.float32)


def smooth_images(n=3, shape=(64, 64), seed=0) -> np.ndarray:
    """Smooth float32 images in [0, 1]: sums of wide Gaussian blobs."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    out = np.zeros((n, 1, *shape))
    for i in range(n):
        for _ in range(4):
            y, x = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
            s = rng.uniform(8, 16)
            out[i, 0] += rng.uniform(0.2, 0.5) * np.exp(-((r - y) ** 2 + (c - x) ** 2) / (2 * s * s))
    return np.clip(out, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return InpaintNet(chans=8, num_pool_layers=2)


# ---------------------------------------------------------------- PSNR
def test_masked_psnr_matches_hand_computation():
    mask = np.zeros((8, 8), dtype=bool)
    mask[:, ::2] = True
    target = np.full((2, 1, 8, 8), 0.5)
    pred = target.copy()
    pred[..., mask] += 0.1  # MSE over the gaps = 0.01 -> 20 dB
    np.testing.assert_allclose(ev.masked_psnr(pred, target, mask), [20.0, 20.0], atol=1e-9)
    # whole image: half the pixels have error 0.1 -> MSE 0.005
    np.testing.assert_allclose(ev.psnr(pred, target), 10 * np.log10(1 / 0.005), atol=1e-9)


def test_masked_psnr_ignores_observed_pixels():
    mask = slanted_mask()
    target = random_images(2)
    pred = target + np.float32(0.05) * mask
    before = ev.masked_psnr(pred, target, mask)
    pred2 = pred.copy()
    pred2[..., ~mask] = 0.0  # wreck every observed pixel
    np.testing.assert_array_equal(ev.masked_psnr(pred2, target, mask), before)
    assert (ev.psnr(pred2, target) < ev.psnr(pred, target)).all()


def test_masked_psnr_per_image_mask():
    mask = np.zeros((2, 1, 8, 8), dtype=bool)
    mask[0, 0, 0, 0] = mask[1, 0, 1, 1] = True
    target = np.zeros((2, 1, 8, 8))
    pred = target.copy()
    pred[0, 0, 0, 0] = 0.1
    np.testing.assert_allclose(ev.masked_psnr(pred, target, mask), [20.0, ev.PSNR_CAP_DB])


def test_identical_images_give_the_cap():
    x = random_images(2)
    mask = slanted_mask()
    np.testing.assert_array_equal(ev.psnr(x, x), [ev.PSNR_CAP_DB] * 2)
    np.testing.assert_array_equal(ev.masked_psnr(x, x, mask), [ev.PSNR_CAP_DB] * 2)
    assert np.isfinite(ev.psnr(x, x)).all()


def test_empty_mask_is_rejected():
    x = random_images(1, (8, 8))
    with pytest.raises(ValueError, match="missing pixel"):
        ev.masked_psnr(x, x, np.zeros((8, 8), dtype=bool))


# ---------------------------------------------------------------- SSIM
def test_ssim_matches_skimage_and_is_one_for_identical():
    a, b = random_images(2, seed=1), random_images(2, seed=2)
    got = ev.ssim(a, b)
    for i in range(2):
        want = structural_similarity(a[i, 0].astype(np.float64), b[i, 0].astype(np.float64), data_range=1.0)
        assert got[i] == pytest.approx(want, abs=1e-12)
    np.testing.assert_allclose(ev.ssim(a, a), 1.0, atol=1e-12)
    maps = ev.ssim_maps(a, b)
    assert maps.shape == a.shape
    _, want_map = structural_similarity(a[0, 0].astype(np.float64), b[0, 0].astype(np.float64),
                                        data_range=1.0, full=True)
    np.testing.assert_allclose(maps[0, 0], want_map)


def test_masked_ssim_is_map_mean_over_mask():
    mask = slanted_mask()
    target = smooth_images(2)
    pred = target + np.float32(0.1) * mask * random_images(2, seed=3)
    maps = ev.ssim_maps(pred, target)
    got = ev.masked_ssim(pred, target, mask)
    for i in range(2):
        assert got[i] == pytest.approx(maps[i, 0][mask].mean(), abs=1e-12)
    np.testing.assert_allclose(ev.masked_ssim(target, target, mask), 1.0, atol=1e-12)


def test_evaluate_fill_keys_and_values():
    mask = slanted_mask()
    target = smooth_images(2)
    pred = target + np.float32(0.1) * mask
    res = ev.evaluate_fill(pred, target, mask)
    assert set(res) == {"psnr_gaps", "ssim_gaps", "psnr_image", "ssim_image", "mae_gaps"}
    assert all(type(v) is float for v in res.values())
    assert res["psnr_gaps"] == pytest.approx(20.0, abs=1e-4)
    assert res["mae_gaps"] == pytest.approx(0.1, abs=1e-6)
    assert res["psnr_image"] > res["psnr_gaps"]
    assert res["ssim_gaps"] == pytest.approx(float(ev.masked_ssim(pred, target, mask).mean()))
    assert res["ssim_image"] == pytest.approx(float(ev.ssim(pred, target).mean()))


# ---------------------------------------------------------------- inference
def test_predict_shape_and_data_consistency(tiny_model):
    mask = slanted_mask()
    images = corrupt(random_images(5), mask)
    tiny_model.train()
    out = ev.predict(tiny_model, images, mask, batch_size=2)
    assert tiny_model.training  # mode restored
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., ~mask], images[..., ~mask])
    assert ((out >= 0) & (out <= 1)).all()
    # batching does not matter; a per-image mask gives the same result
    np.testing.assert_allclose(ev.predict(tiny_model, images, mask, batch_size=64), out, atol=1e-5)
    full = np.broadcast_to(mask, images.shape).copy()
    np.testing.assert_allclose(ev.predict(tiny_model, images, full, batch_size=3), out, atol=1e-5)


def test_self_ensemble_uses_vflip_for_symmetric_mask(tiny_model):
    rng = np.random.default_rng(0)
    top = rng.random((32, 64)) < 0.5
    mask = np.concatenate([top, top[::-1]], axis=0)  # symmetric under vertical flip
    names = [t.name for t in ev.mask_symmetries(mask)]
    assert names[0] == "identity" and "vflip" in names and "hflip" not in names
    images = corrupt(random_images(3), mask)
    out, used = ev.self_ensemble_predict(tiny_model, images, mask)
    assert used == names and "vflip" in used
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., ~mask], images[..., ~mask])
    # the average of the identity and flipped predictions
    p0 = ev.predict(tiny_model, images, mask)
    p1 = ev.predict(tiny_model, images[..., ::-1, :], mask)[..., ::-1, :]
    assert used == ["identity", "vflip"]
    np.testing.assert_allclose(out[..., mask], ((p0 + p1) / 2)[..., mask], atol=1e-5)


def test_self_ensemble_identity_only_for_asymmetric_mask(tiny_model):
    mask = np.random.default_rng(1).random((64, 64)) < 0.5
    images = corrupt(random_images(2), mask)
    out, used = ev.self_ensemble_predict(tiny_model, images, mask)
    assert used == ["identity"]
    np.testing.assert_array_equal(out, ev.predict(tiny_model, images, mask))
    np.testing.assert_array_equal(out[..., ~mask], images[..., ~mask])


def test_mask_symmetries_rolls():
    mask = np.zeros((16, 16), dtype=bool)
    mask[:, ::4] = True  # vertical stripes of period 4: every roll and the vflip preserve it
    names = {t.name for t in ev.mask_symmetries(mask)}
    assert {"vflip", "hroll4", "hroll8", "vroll1", "vroll15"} <= names
    assert "hflip" not in names and "rot180" not in names
    # the transforms really do preserve the mask
    for t in ev.mask_symmetries(mask):
        np.testing.assert_array_equal(t.forward(mask), mask)
        np.testing.assert_array_equal(t.inverse(t.forward(mask)), mask)


# ---------------------------------------------------------------- comparison
def test_default_methods_order(tiny_model):
    assert list(ev.default_methods()) == ["zero fill", "row-wise linear", "biharmonic"]
    asym = slanted_mask()
    assert list(ev.default_methods(tiny_model, asym)) == [
        "zero fill", "row-wise linear", "biharmonic", "U-Net (ours)"]
    sym = np.zeros((64, 64), dtype=bool)
    sym[:, ::4] = True
    assert list(ev.default_methods(tiny_model, sym))[-1] == "U-Net + self-ensemble"


def test_compare_methods_ranks_and_table(tiny_model):
    mask = slanted_mask((32, 32))
    clean = smooth_images(2, (32, 32))
    methods = ev.default_methods(tiny_model, mask)
    rows = ev.compare_methods(clean, mask, methods)
    assert [r["method"] for r in rows] == list(methods)
    by = {r["method"]: r for r in rows}
    assert by["row-wise linear"]["psnr_gaps"] > by["zero fill"]["psnr_gaps"] + 10
    assert by["row-wise linear"]["mae_gaps"] < by["zero fill"]["mae_gaps"]
    assert by["biharmonic"]["psnr_gaps"] > by["zero fill"]["psnr_gaps"]
    assert all(r["seconds"] >= 0 for r in rows)
    table = ev.format_table(rows)
    lines = table.splitlines()
    assert lines[0].startswith("| Method | PSNR gaps (dB) | SSIM gaps | PSNR image (dB) | SSIM image")
    assert "Time (s)" in lines[0] and len(lines) == 2 + len(rows)
    for name in methods:
        assert f"| {name} |" in table
