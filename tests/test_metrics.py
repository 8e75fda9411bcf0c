"""Tests for mri_inpaint.metrics: PSNR and SSIM on the gaps and on whole images."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from mri_inpaint import metrics as ev
from conftest import random_images, slanted_mask, smooth_images


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
    got, maps = ev.ssim_maps(a, b)
    for i in range(2):
        want = structural_similarity(a[i, 0].astype(np.float64), b[i, 0].astype(np.float64), data_range=1.0)
        assert got[i] == pytest.approx(want, abs=1e-12)
    np.testing.assert_allclose(ev.ssim_maps(a, a)[0], 1.0, atol=1e-12)
    assert maps.shape == a.shape
    _, want_map = structural_similarity(a[0, 0].astype(np.float64), b[0, 0].astype(np.float64),
                                        data_range=1.0, full=True)
    np.testing.assert_allclose(maps[0, 0], want_map)


def test_ssim_on_gaps_is_map_mean_over_mask():
    mask = slanted_mask()
    target = smooth_images(2)
    pred = target + np.float32(0.1) * mask * random_images(2, seed=3)
    _, maps = ev.ssim_maps(pred, target)
    got = ev.masked_mean(maps, mask)
    for i in range(2):
        assert got[i] == pytest.approx(maps[i, 0][mask].mean(), abs=1e-12)
    np.testing.assert_allclose(ev.masked_mean(ev.ssim_maps(target, target)[1], mask), 1.0, atol=1e-12)


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
    means, maps = ev.ssim_maps(pred, target)
    assert res["ssim_gaps"] == pytest.approx(float(ev.masked_mean(maps, mask).mean()))
    assert res["ssim_image"] == pytest.approx(float(means.mean()))


# ---------------------------------------------------------------- paired differences
def test_paired_difference_matches_numpy_and_rejects_unpaired_lists():
    a, b = np.array([28.0, 26.5, 30.1, 27.2]), np.array([27.5, 26.4, 29.6, 27.3])
    d = ev.paired_difference(a, b)
    assert d["n"] == 4 and d["mean"] == pytest.approx((a - b).mean())
    assert d["sd"] == pytest.approx(np.std(a - b, ddof=1)) and d["se"] == pytest.approx(d["sd"] / 2)
    single = ev.paired_difference([1.0], [0.5])
    assert single["mean"] == 0.5 and np.isnan(single["se"])
    with pytest.raises(ValueError, match="equally long"):
        ev.paired_difference([1.0, 2.0], [1.0])
