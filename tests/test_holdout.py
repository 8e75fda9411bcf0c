"""Tests for mri_inpaint.holdout: the labelled stand-in for the test images and the fill it chooses."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mri_inpaint.config import AdaptConfig
from mri_inpaint.holdout import (FILL_STEPS, best_fill, format_comparisons, held_out_slices, score_fill_steps,
                                 verdict)
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


def _rows(gains: dict[str, float], *, n: int = 100, noise: float = 0.3, seed: int = 0) -> list[dict]:
    """Synthetic held-out rows: per-slice gap PSNRs of the plain fill plus ``gains[name]`` and paired noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(27.5, 2.0, n)  # slices differ far more than the fills do
    rows = [{"method": "biharmonic", "psnr_gaps": 40.0, "psnr_gaps_per_image": list(base + 20)}]
    for name in FILL_STEPS:
        scores = base + gains.get(name, 0.0) + (rng.normal(0, noise, n) if name != "U-Net, trained" else 0)
        rows.append({"method": name, "psnr_gaps": float(scores.mean()), "psnr_gaps_per_image": list(scores)})
    return rows


def test_verdict_needs_two_standard_errors():
    assert verdict(0.21, 0.1) == "gain" and verdict(0.19, 0.1) == "tie" and verdict(-0.21, 0.1) == "loss"
    assert verdict(0.5, float("nan")) == "tie" and verdict(0.0, 0.0) == "tie"


def test_best_fill_adds_a_step_only_on_a_clear_gain():
    # self-training: a clear gain (+0.8 dB, se 0.03); shift averaging: +0.03 dB on top, within noise
    rows = _rows({"U-Net, self-trained": 0.8, "U-Net, self-trained + shift averaging": 0.83,
                  "U-Net, trained + shift averaging": 0.05})
    comparisons, choice = best_fill(rows)
    assert choice == ("U-Net, self-trained", True, False)  # the tie ships the cheaper fill
    assert [(c["step"], c["without"], c["verdict"]) for c in comparisons] == [
        ("self-training", "U-Net, trained", "gain"), ("shift averaging", "U-Net, self-trained", "tie")]
    gain = comparisons[0]
    d = np.subtract(rows[3]["psnr_gaps_per_image"], rows[1]["psnr_gaps_per_image"])
    assert gain["n"] == 100 and gain["mean_db"] == pytest.approx(d.mean())
    assert gain["sd_db"] == pytest.approx(d.std(ddof=1)) and gain["se_db"] == pytest.approx(d.std(ddof=1) / 10)
    assert gain["mean_db"] > 2 * gain["se_db"] and abs(comparisons[1]["mean_db"]) < 2 * comparisons[1]["se_db"]
    table = format_comparisons(comparisons)
    assert table.count("\n") == 3 and "| self-training |" in table and "| tie |" in table


def test_best_fill_keeps_the_trained_fill_when_steps_lose_and_uses_a_real_shift_gain():
    comparisons, choice = best_fill(_rows({"U-Net, self-trained": -0.5, "U-Net, self-trained + shift averaging": -0.3,
                                           "U-Net, trained + shift averaging": 0.4}))
    assert [c["verdict"] for c in comparisons] == ["loss", "gain"]
    assert comparisons[1]["without"] == "U-Net, trained"  # judged on the fill that stays
    assert choice == ("U-Net, trained + shift averaging", False, True)


def test_best_fill_judges_the_mean_against_its_noise_not_against_zero():
    # the same +0.1 dB mean gain: a gain when slices agree, a tie when they scatter
    assert best_fill(_rows({"U-Net, self-trained": 0.1}, noise=0.05))[1][0] == "U-Net, self-trained"
    assert best_fill(_rows({"U-Net, self-trained": 0.1}, noise=2.0))[1][0] == "U-Net, trained"


def test_best_fill_without_self_training_or_per_slice_scores():
    rows = [r for r in _rows({"U-Net, trained + shift averaging": 0.5}) if "self-trained" not in r["method"]]
    comparisons, choice = best_fill(rows)
    assert [c["step"] for c in comparisons] == ["shift averaging"] and choice[2] is True
    with pytest.raises(ValueError, match="per-slice"):
        best_fill([{k: v for k, v in r.items() if k != "psnr_gaps_per_image"} for r in rows])
    with pytest.raises(ValueError, match="score_fill_steps first"):
        best_fill(rows[:1])


def test_score_fill_steps_scores_baselines_and_every_candidate(mask):
    clean = held_out_slices("colin27", 4)
    net = InpaintNet(chans=8, num_pool_layers=2)
    anchors = held_out_slices("itk", 8)
    adapt = AdaptConfig(steps=2, batch_size=2, refresh_every=1, num_anchors=8)
    rows, networks = score_fill_steps(net, clean, mask, anchors, adapt, shifts=2)
    assert [r["method"] for r in rows] == ["zero fill", "row-wise linear", "biharmonic", *FILL_STEPS]
    assert all(len(r["psnr_gaps_per_image"]) == 4 for r in rows)
    assert np.mean(rows[3]["psnr_gaps_per_image"]) == pytest.approx(rows[3]["psnr_gaps"])
    comparisons, choice = best_fill(rows)
    assert [c["step"] for c in comparisons] == ["self-training", "shift averaging"] and choice[0] in FILL_STEPS
    assert set(networks) == {"trained", "self-trained"} and networks["self-trained"] is not net
    untrained = {r["method"]: r["psnr_gaps"] for r in rows}
    assert untrained["U-Net, trained"] == pytest.approx(untrained["row-wise linear"], abs=1e-3)  # zero-init head
    rows, networks = score_fill_steps(net, clean, mask, anchors, AdaptConfig(steps=0), shifts=2)
    assert [r["method"] for r in rows][-2:] == ["U-Net, trained", "U-Net, trained + shift averaging"]
