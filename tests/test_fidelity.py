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


# ------------------------------------------------------------------ framing statistics
def _box(top=10, bottom=50, left=3, right=60, value=0.5, n=1):
    """``n`` images of one bright rectangle (rows top..bottom, columns left..right, inclusive)."""
    images = np.zeros((n, 1, 64, 64), np.float32)
    images[:, 0, top:bottom + 1, left:right + 1] = value
    return images


def test_framing_stats_of_a_rectangle():
    from mri_inpaint.fidelity import framing_stats

    none_missing = np.zeros((64, 64), bool)
    s = {k: float(v[0]) for k, v in framing_stats(_box(), none_missing).items()}
    assert (s["top_margin"], s["first_col"], s["last_col"], s["head_width"]) == (10, 3, 60, 58)
    assert s["tissue_fraction"] == pytest.approx(41 * 58 / 4096)
    assert s["mean"] == pytest.approx(0.5 * 41 * 58 / 4096)
    assert s["p99"] == pytest.approx(0.5)
    assert s["crown_ratio"] == pytest.approx(1.0)  # straight sides: as wide below the top as anywhere
    assert (s["centre_row"], s["centre_col"]) == (pytest.approx(30.0), pytest.approx(31.5))


def test_framing_stats_see_observed_pixels_only():
    from mri_inpaint.fidelity import framing_stats

    mask = np.zeros((64, 64), bool)
    mask[10:12] = True  # the box's first two rows are missing
    mask[:, 60] = True  # and its last column
    images = _box()
    s = framing_stats(images, mask)
    assert s["top_margin"][0] == 12 and s["last_col"][0] == 59
    images[:, :, mask] = 1.0  # whatever the gaps hold changes nothing
    assert framing_stats(images, mask)["top_margin"][0] == 12
    assert framing_stats(images, mask)["tissue_fraction"][0] == pytest.approx(s["tissue_fraction"][0])


def test_a_pointed_crown_scores_lower_than_a_round_one():
    from mri_inpaint.fidelity import framing_stats

    r, c = np.mgrid[0:64, 0:64]
    disc = ((r - 36) ** 2 + (c - 32) ** 2 <= 28 ** 2).astype(np.float32)
    triangle = ((r >= 8) & (np.abs(c - 32) <= (r - 8))).astype(np.float32)
    none = np.zeros((64, 64), bool)
    round_, pointed = (framing_stats(x[None, None], none)["crown_ratio"][0] for x in (disc, triangle))
    assert pointed < round_ < 1


def test_an_empty_image_has_no_positions():
    from mri_inpaint.fidelity import framing_stats, framing_summary

    images = np.concatenate([_box(), np.zeros((1, 1, 64, 64), np.float32)])
    none = np.zeros((64, 64), bool)
    assert np.isnan(framing_stats(images, none)["top_margin"][1])
    assert framing_summary(images, none)["top_margin"] == {"mean": 10.0, "sd": 0.0}


def test_framing_comparison_z_scores_against_the_test_spread():
    from mri_inpaint.fidelity import framing_comparison

    none = np.zeros((64, 64), bool)
    test = np.concatenate([_box(top=8), _box(top=12)])  # top margin 10 +- 2
    same = framing_comparison(test, test, none)
    assert same["within"] == same["of"] and same["stats"]["top_margin"]["z"] == 0
    lower = framing_comparison(np.concatenate([_box(top=13), _box(top=13)]), test, none)["stats"]["top_margin"]
    assert lower["z"] == pytest.approx(1.5) and not lower["within"]
    assert lower["sd_ratio"] == 0 and lower["test_mean"] == 10 and lower["test_sd"] == 2


def test_timed_fidelity_reports_the_framing_summary(clean_images, mask):
    from mri_inpaint.fidelity import timed_fidelity

    row = timed_fidelity("same", lambda: clean_images, clean_images, mask)
    assert row["framing_within"] == f"{row['framing']['of']} of {row['framing']['of']}"


def test_framing_sees_heads_placed_lower_and_tables_each_statistic(mask):
    from mri_inpaint.fidelity import framing_rows, timed_fidelity

    test = np.concatenate([_box(top=t, left=t - 6) for t in range(8, 13)])
    lower = np.roll(test, 10, axis=-2)  # the same heads, 10 rows lower
    rows = [timed_fidelity("lower", lambda: lower, test, mask), timed_fidelity("same", lambda: test, test, mask)]
    assert rows[0]["framing"]["within"] < rows[1]["framing"]["within"]
    assert [r["within"] for r in framing_rows(rows[1]["framing"])] == ["yes"] * rows[1]["framing"]["of"]
