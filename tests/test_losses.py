"""Tests for mri_inpaint.losses: the gap loss scores only the weighted pixels."""
from __future__ import annotations

import pytest
import torch

from mri_inpaint.losses import masked_l1


def _pair():
    pred = torch.zeros(2, 1, 4, 4)
    target = torch.zeros(2, 1, 4, 4)
    weight = torch.zeros(1, 1, 4, 4)
    weight[..., 0, :] = 1  # first row of each image scored: 8 pixels in all
    target[..., 0, :2] = 0.5  # four scored errors of 0.5
    target[..., 3, :] = 9.0  # large errors where the weight is 0: ignored
    return pred, target, weight


def test_masked_l1_averages_over_the_weighted_pixels():
    pred, target, weight = _pair()
    assert masked_l1(pred, target, weight).item() == pytest.approx(4 * 0.5 / 8)


def test_empty_weight_gives_zero_not_nan():
    pred, target, _ = _pair()
    assert masked_l1(pred, target, torch.zeros(1, 1, 4, 4)).item() == 0.0
