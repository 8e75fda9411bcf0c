"""Tests for mri_inpaint.masks: mask inference, parametric stripes, corruption, validation, shifts."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import REAL_TEST_SET
from mri_inpaint.masks import (DEFAULT_STRIPES, MIN_IMAGES_FOR_MASK, StripeParams, corrupt, fit_stripes,
                               infer_mask, shift_mask, stripe_mask, validate_mask)


# ---------------------------------------------------------------- infer_mask
def test_infer_mask_recovers_exact_mask(corrupted_images, mask):
    inferred = infer_mask(corrupted_images)
    assert inferred.dtype == bool and inferred.shape == (64, 64)
    np.testing.assert_array_equal(inferred, mask)


def test_infer_mask_accepts_3d_stack(corrupted_images, mask):
    np.testing.assert_array_equal(infer_mask(corrupted_images[:, 0]), mask)


def test_infer_mask_tolerates_black_background_in_a_minority(corrupted_images, mask):
    images = corrupted_images.copy()
    images[:10, :, :5, :] = 0.0  # black band on the top rows of a minority of images
    np.testing.assert_array_equal(infer_mask(images), mask)


def test_infer_mask_too_few_images(corrupted_images):
    with pytest.raises(ValueError, match=f"at least {MIN_IMAGES_FOR_MASK} images.*--mask"):
        infer_mask(corrupted_images[:1])


@pytest.mark.parametrize("which", ["clean", "all zero"])
def test_infer_mask_implausible_missing_fraction(clean_images, which):
    images = clean_images if which == "clean" else np.zeros_like(clean_images)
    with pytest.raises(ValueError, match="missing pixels, outside the plausible range.*--mask"):
        infer_mask(images)


def test_infer_mask_wrong_ndim():
    with pytest.raises(ValueError, match=r"expected images of shape"):
        infer_mask(np.zeros((64, 64), np.float32))


# ---------------------------------------------------------------- parametric stripes
def test_fit_stripes_round_trip_real_test_mask():
    if not REAL_TEST_SET.is_file():
        pytest.skip(f"real test set {REAL_TEST_SET} not present")
    mask = infer_mask(np.load(REAL_TEST_SET))
    assert int(mask.sum()) == 2073
    params = fit_stripes(mask)
    np.testing.assert_array_equal(stripe_mask(params), mask)
    # the ideal part alone is the default pattern, close to the real mask
    assert len(params.exceptions) < 0.05 * mask.size
    np.testing.assert_array_equal(stripe_mask(params, exact=False), stripe_mask(DEFAULT_STRIPES))


@pytest.mark.parametrize("period, width, slant, phase", [
    (4.05625, 2.0, -0.17625, 0.234375),
    (5.0, 2.5, 0.25, 0.1),
    (6.4, 3.0, -0.3, 0.6),
])
def test_fit_stripes_recovers_ideal_pattern(period, width, slant, phase):
    truth = StripeParams(period, width, slant, phase)
    mask = stripe_mask(truth)
    fitted = fit_stripes(mask)
    assert fitted.exceptions == ()
    assert fitted.period == pytest.approx(period, rel=0.01)
    assert fitted.slant == pytest.approx(slant, abs=0.02)
    assert fitted.width == width
    assert 0.0 <= fitted.phase < 1.0
    np.testing.assert_array_equal(stripe_mask(fitted), mask)


def test_stripe_mask_exceptions_flip_pixels():
    base = stripe_mask(DEFAULT_STRIPES)
    flipped = StripeParams(**{**DEFAULT_STRIPES.to_dict(), "shape": (64, 64), "exceptions": (0, 65, 4095)})
    out = stripe_mask(flipped)
    assert (out != base).sum() == 3
    assert out.reshape(-1)[0] != base.reshape(-1)[0]
    np.testing.assert_array_equal(stripe_mask(flipped, exact=False), base)


# ---------------------------------------------------------------- corrupt
def test_corrupt_numpy(clean_images, mask):
    before = clean_images.copy()
    out = corrupt(clean_images, mask)
    assert isinstance(out, np.ndarray) and out.dtype == clean_images.dtype and out.shape == clean_images.shape
    assert (out[..., mask] == 0).all()
    np.testing.assert_array_equal(out[..., ~mask], clean_images[..., ~mask])
    np.testing.assert_array_equal(clean_images, before)  # input untouched


def test_corrupt_torch(clean_images, mask):
    clean = torch.from_numpy(clean_images)
    before = clean.clone()
    out = corrupt(clean, mask)
    assert isinstance(out, torch.Tensor) and out.dtype == clean.dtype and out.shape == clean.shape
    assert torch.equal(clean, before)  # input untouched
    np.testing.assert_array_equal(out.numpy(), corrupt(clean_images, mask))


# ---------------------------------------------------------------- validate_mask
def test_validate_mask_accepts_bool_01_and_4d(mask):
    np.testing.assert_array_equal(validate_mask(mask), mask)
    out = validate_mask(mask.astype(np.uint8))
    assert out.dtype == bool
    np.testing.assert_array_equal(out, mask)
    np.testing.assert_array_equal(validate_mask(mask[None, None].astype(np.float32)), mask)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((64, 63), bool), r"shape \(64, 64\)"),
    (np.zeros((2, 1, 64, 64), bool), r"shape \(64, 64\)"),
    (np.full((64, 64), 0.5), "only 0 and 1"),
    (np.full((64, 64), 2), "only 0 and 1"),
])
def test_validate_mask_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        validate_mask(bad)


def test_validate_mask_other_shape():
    m = np.zeros((8, 5), bool)
    assert validate_mask(m, (8, 5)).shape == (8, 5)
    with pytest.raises(ValueError):
        validate_mask(m)


# ---------------------------------------------------------------- shift_mask
def test_shift_mask_wraps_around(mask):
    shifted = shift_mask(mask, dx=3, dy=-2)
    assert shifted.shape == mask.shape and shifted.sum() == mask.sum()
    assert shifted[5, 10] == mask[7, 7]
    assert shifted[0, 0] == mask[2, 61]
    np.testing.assert_array_equal(shift_mask(shifted, dx=-3, dy=2), mask)
    np.testing.assert_array_equal(shift_mask(mask), mask)
    np.testing.assert_array_equal(shift_mask(mask, dx=64, dy=64), mask)
