"""The label-free check on the real images' observed pixels."""
import numpy as np
import pytest
import torch

from mri_inpaint.baselines import row_interpolate_np, zero_fill
from conftest import slanted_mask, smooth_images
from mri_inpaint.check import CHECK_SHIFT, check_methods, check_with, format_check_table, real_image_check
from mri_inpaint.evaluate import methods_table
from mri_inpaint.masks import corrupt
from mri_inpaint.model import InpaintNet


def test_check_scores_hidden_observed_pixels_only(clean_images, mask):
    images = corrupt(clean_images, mask)
    oracle = check_with(lambda x, m: clean_images.copy(), images, mask)  # knows every true pixel
    assert oracle["psnr"] >= 99  # capped perfect score
    assert oracle["hidden_pixels"] == int((np.roll(mask, 2, axis=1) & ~mask).sum())

    def wrong_on_hidden_only(x, m):  # perfect except on pixels the check hides
        out = clean_images.copy()
        hidden = np.roll(mask, 2, axis=1) & ~mask
        out[..., hidden] = 0.5 if m is not mask else out[..., hidden]
        return out
    assert check_with(wrong_on_hidden_only, images, mask)["psnr"] < 30


def test_check_ranks_interpolation_above_zero_fill(clean_images, mask):
    images = corrupt(clean_images, mask)
    better = check_with(row_interpolate_np, images, mask)
    worse = check_with(zero_fill, images, mask)
    assert better["psnr"] > worse["psnr"] + 5
    assert better["mae"] < worse["mae"]


def test_network_check_is_the_check_of_its_fill(corrupted_images, mask):
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2)
    with torch.no_grad():
        model.unet.head.weight.normal_(0, 0.05)
    images = corrupted_images[:4]
    direct = check_with(lambda x, m: model(torch.from_numpy(x), torch.from_numpy(m)).detach().numpy(), images, mask)
    result = real_image_check(model, images, mask)
    assert result["shift"] == list(CHECK_SHIFT)
    assert result["psnr"] == pytest.approx(direct["psnr"], abs=1e-3)
    assert real_image_check(model, images, mask, shift=(0, 1))["hidden_pixels"] != result["hidden_pixels"]


def test_check_methods_skips_zero_fill_and_ranks_interpolation():
    mask = slanted_mask()
    images = corrupt(smooth_images(3), mask)
    rows = check_methods(images, mask, methods_table())
    assert [r["method"] for r in rows] == ["row-wise linear", "biharmonic"]
    assert all(r["psnr"] > 20 for r in rows)
    assert "| biharmonic |" in format_check_table(rows)
