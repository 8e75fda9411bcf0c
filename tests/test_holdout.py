"""Tests for mri_inpaint.holdout: the labelled stand-in for the test images and the fill it chooses."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mri_inpaint.config import AdaptConfig
from mri_inpaint.holdout import FILL_STEPS, best_fill, held_out_slices, score_fill_steps
from mri_inpaint.model import InpaintNet, with_shifts


def test_held_out_slices_are_one_head_and_reproducible():
    a, b = held_out_slices("robex", 3), held_out_slices("robex", 3)
    assert a.shape == (3, 1, 64, 64) and a.dtype == np.float32
    assert np.array_equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert not np.array_equal(a, held_out_slices("colin27", 3))


def test_with_shifts_shares_the_weights_and_changes_only_the_fill():
    torch.manual_seed(0)
    net = InpaintNet(chans=8, num_pool_layers=2, test_time_shifts=1).eval()
    torch.nn.init.normal_(net.unet.head.weight, std=0.1)  # a non-trivial correction
    averaged = with_shifts(net, 4)
    assert averaged.unet is net.unet and net.test_time_shifts == 1 and averaged.model_args["test_time_shifts"] == 4
    x, mask = torch.rand(2, 1, 64, 64), torch.zeros(64, 64, dtype=torch.bool)
    mask[:, ::4] = True
    with torch.no_grad():
        assert not torch.allclose(net(x, mask), averaged(x, mask))
        assert torch.equal(with_shifts(averaged, 1)(x, mask), net(x, mask))
    with pytest.raises(ValueError, match="shifts must be in"):
        with_shifts(net, 5)


def test_best_fill_picks_the_highest_gap_psnr_among_networks():
    rows = [{"method": "biharmonic", "psnr_gaps": 40.0}] + [
        {"method": name, "psnr_gaps": 20.0 + i} for i, name in enumerate(FILL_STEPS)]
    rows[2]["psnr_gaps"] = 30.0  # "U-Net, trained + shift averaging"
    assert best_fill(rows) == ("U-Net, trained + shift averaging", False, True)
    with pytest.raises(ValueError):
        best_fill(rows[:1])


def test_score_fill_steps_scores_baselines_and_every_candidate(mask):
    clean = held_out_slices("colin27", 4)
    net = InpaintNet(chans=8, num_pool_layers=2)
    anchors = held_out_slices("itk", 8)
    adapt = AdaptConfig(steps=2, batch_size=2, refresh_every=1, num_anchors=8)
    rows, networks = score_fill_steps(net, clean, mask, anchors, adapt, shifts=2)
    assert [r["method"] for r in rows] == ["zero fill", "row-wise linear", "biharmonic", *FILL_STEPS]
    assert set(networks) == {"trained", "self-trained"} and networks["self-trained"] is not net
    untrained = {r["method"]: r["psnr_gaps"] for r in rows}
    assert untrained["U-Net, trained"] == pytest.approx(untrained["row-wise linear"], abs=1e-3)  # zero-init head
    rows, networks = score_fill_steps(net, clean, mask, anchors, AdaptConfig(steps=0), shifts=2)
    assert [r["method"] for r in rows][-2:] == ["U-Net, trained", "U-Net, trained + shift averaging"]
