"""Tests for mri_inpaint.evaluate (method tables against known truth) and mri_inpaint.fill.predict."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mri_inpaint import evaluate as ev
from mri_inpaint.fill import predict
from conftest import random_images, slanted_mask, smooth_images
from mri_inpaint.masks import corrupt
from mri_inpaint.model import InpaintNet


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return InpaintNet(chans=8, num_pool_layers=2)


# ---------------------------------------------------------------- inference
def test_predict_shape_and_data_consistency(tiny_model):
    mask = slanted_mask()
    images = corrupt(random_images(5), mask)
    tiny_model.train()
    out = predict(tiny_model, images, mask, batch_size=2)
    assert tiny_model.training  # mode restored
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., ~mask], images[..., ~mask])
    assert ((out >= 0) & (out <= 1)).all()
    # batching does not matter; a per-image mask gives the same result
    np.testing.assert_allclose(predict(tiny_model, images, mask, batch_size=64), out, atol=1e-5)
    full = np.broadcast_to(mask, images.shape).copy()
    np.testing.assert_allclose(predict(tiny_model, images, full, batch_size=3), out, atol=1e-5)


# ---------------------------------------------------------------- comparison
def test_methods_table_order(tiny_model):
    assert list(ev.methods_table()) == ["zero fill", "row-wise linear", "biharmonic"]
    assert list(ev.methods_table({"U-Net (ours)": tiny_model})) == [
        "zero fill", "row-wise linear", "biharmonic", "U-Net (ours)"]
    assert list(ev.methods_table({"a": tiny_model}, baselines=False)) == ["a"]


def test_compare_methods_ranks_and_table(tiny_model):
    mask = slanted_mask((32, 32))
    clean = smooth_images(2, (32, 32))
    methods = ev.methods_table({"U-Net (ours)": tiny_model})
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
    assert "psnr_gaps_per_image" not in rows[0]


def test_compare_methods_keeps_per_image_gap_psnr_on_request():
    mask = slanted_mask((32, 32))
    clean = smooth_images(3, (32, 32))
    rows = ev.compare_methods(clean, mask, {"row-wise linear": ev.BASELINES["row-wise linear"]}, per_image=True)
    per_image = rows[0]["psnr_gaps_per_image"]
    assert len(per_image) == 3 and np.mean(per_image) == pytest.approx(rows[0]["psnr_gaps"])
    assert len(set(per_image)) == 3  # one score per image, not the mean repeated

