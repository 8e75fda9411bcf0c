"""Tests for mri_inpaint.fidelity: measures on observed pixels only."""
import numpy as np
import pytest

from conftest import make_smooth_images
from mri_inpaint.fidelity import fidelity, mean_image_correlation, nearest_neighbour_mse


def test_identical_sets_score_perfectly(clean_images, mask):
    res = fidelity(clean_images, clean_images, mask)
    assert res["mean_image_corr"] == pytest.approx(1.0)
    assert res["nn_mse"] == pytest.approx(0.0, abs=1e-12)
    assert res["intensity_w1"] == pytest.approx(0.0, abs=1e-12)


def test_gap_pixels_are_ignored(clean_images, mask):
    wrecked = clean_images.copy()
    wrecked[:, :, mask] = 1.0  # change every missing pixel
    assert nearest_neighbour_mse(wrecked, clean_images, mask) == pytest.approx(0.0, abs=1e-12)


def test_nearest_neighbour_matches_brute_force(clean_images, mask):
    other = make_smooth_images(10, seed=5)
    obs = ~mask
    want = np.mean([min(((o[0][obs] - t[0][obs]) ** 2).mean() for o in other) for t in clean_images])
    assert nearest_neighbour_mse(other, clean_images, mask) == pytest.approx(want, rel=1e-9)


def test_mirrored_images_correlate_less(clean_images, mask):
    lopsided = clean_images.copy()
    lopsided[..., 40:] = np.clip(lopsided[..., 40:] + 0.5, 0, 1)  # bright on the right
    assert mean_image_correlation(lopsided[..., ::-1], lopsided, mask) < mean_image_correlation(lopsided, lopsided, mask)


def test_timed_fidelity_times_its_own_draw(clean_images, mask):
    from mri_inpaint.fidelity import timed_fidelity

    row = timed_fidelity("same", lambda: clean_images, clean_images, mask)
    assert row["setting"] == "same" and row["images"] is clean_images
    assert row["s_per_image"] >= 0 and row["mean_image_corr"] == pytest.approx(1.0)
    import time

    slow = timed_fidelity("slow", lambda: (time.sleep(0.05), clean_images)[1], clean_images, mask)
    assert slow["s_per_image"] >= 0.05 / len(clean_images)
