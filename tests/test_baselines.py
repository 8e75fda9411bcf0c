"""Tests for mri_inpaint.baselines: row-wise interpolation and biharmonic inpainting."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mri_inpaint.baselines import biharmonic, row_interpolate, row_interpolate_np, zero_fill
from mri_inpaint.masks import corrupt


def _ramp(H=6, W=10) -> torch.Tensor:
    """(1,1,H,W) float64 image, linear along each row with a per-row offset and slope."""
    r, c = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64),
                          indexing="ij")
    return ((0.1 + 0.05 * r) + (0.02 + 0.01 * r) * c)[None, None]


def test_row_interpolate_reproduces_linear_ramp_on_interior_gaps():
    image = _ramp()
    mask = torch.zeros(6, 10, dtype=torch.bool)
    mask[:, 2:5] = True  # a 3-pixel interior gap
    mask[1, 6] = True  # a 1-pixel gap
    mask[3, 1:9] = True  # a long gap, observed only at both ends
    out = row_interpolate(image.masked_fill(mask, 0.0), mask)
    torch.testing.assert_close(out, image, rtol=0, atol=1e-12)


def test_row_interpolate_keeps_observed_pixels(corrupted_images, mask):
    image = torch.from_numpy(corrupted_images)
    out = row_interpolate(image, torch.from_numpy(mask))
    assert out.shape == image.shape and out.dtype == image.dtype
    assert torch.equal(out[..., ~torch.from_numpy(mask)], image[..., ~torch.from_numpy(mask)])


def test_row_interpolate_edges_copy_nearest_and_empty_rows_are_zero():
    image = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0],
                          [1.0, 2.0, 3.0, 4.0, 5.0],
                          [7.0, 7.0, 7.0, 7.0, 7.0]])[None, None]
    mask = torch.tensor([[1, 1, 0, 1, 1],   # gaps at both edges: copy nearest observed
                         [0, 1, 1, 1, 1],   # only the first pixel observed
                         [1, 1, 1, 1, 1]],  # no observed pixel: zeros
                        dtype=torch.bool)
    out = row_interpolate(image.masked_fill(mask, 0.0), mask)[0, 0]
    expected = torch.tensor([[3.0, 3.0, 3.0, 3.0, 3.0],
                             [1.0, 1.0, 1.0, 1.0, 1.0],
                             [0.0, 0.0, 0.0, 0.0, 0.0]])
    assert torch.equal(out, expected)


def test_row_interpolate_ignores_values_under_the_mask():
    image = _ramp()
    mask = torch.zeros(6, 10, dtype=torch.bool)
    mask[:, 3:6] = True
    garbage = image.masked_fill(mask, 123.0)
    assert torch.equal(row_interpolate(garbage, mask), row_interpolate(image.masked_fill(mask, 0.0), mask))


def test_row_interpolate_per_image_mask(corrupted_images, mask):
    images = torch.from_numpy(corrupted_images[:2])
    masks = torch.from_numpy(np.stack([mask, np.roll(mask, 1, axis=1)]))[:, None]
    out = row_interpolate(images, masks)
    for i in range(2):
        assert torch.equal(out[i:i + 1], row_interpolate(images[i:i + 1], masks[i, 0]))


def test_numpy_wrapper_equals_torch(corrupted_images, mask):
    out_np = row_interpolate_np(corrupted_images, mask)
    out_t = row_interpolate(torch.from_numpy(corrupted_images), torch.from_numpy(mask)).numpy()
    assert isinstance(out_np, np.ndarray) and out_np.dtype == np.float32
    np.testing.assert_array_equal(out_np, out_t)
    # a non-contiguous view gives the same result
    view = np.concatenate([corrupted_images, corrupted_images], axis=1)[:, ::2]
    np.testing.assert_array_equal(row_interpolate_np(view, mask), out_np)


def test_biharmonic_keeps_observed_pixels_and_beats_zero_fill(clean_images, mask):
    clean = clean_images[:4]
    corrupted = corrupt(clean, mask)
    out = biharmonic(corrupted, mask)
    assert out.shape == clean.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., ~mask], corrupted[..., ~mask])
    assert out.min() >= 0.0 and out.max() <= 1.0
    err_bh = np.abs(out - clean)[..., mask].mean()
    err_zero = np.abs(zero_fill(corrupted, mask) - clean)[..., mask].mean()
    assert err_bh < 0.25 * err_zero


def test_zero_fill_is_the_corrupted_input(clean_images, mask):
    out = zero_fill(clean_images, mask)
    np.testing.assert_array_equal(out, corrupt(clean_images, mask))
    assert out.dtype == clean_images.dtype


@pytest.mark.parametrize("fill", [row_interpolate_np, biharmonic])
def test_fill_methods_do_not_modify_input(fill, corrupted_images, mask):
    x = corrupted_images[:2].copy()
    fill(x, mask)
    np.testing.assert_array_equal(x, corrupted_images[:2])
