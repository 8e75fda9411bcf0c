"""The embedded anatomy source, the source factory, and the asset rebuild."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from mri_inpaint.sources import AnatomyParams, AnatomySource, get_source
from mri_inpaint.sources.anatomy import ASSET_PATH, filled_head

CH2 = Path("/usr/share/mricron/templates/ch2.nii.gz")


def test_anatomy_images_shape_range_and_normalisation():
    images = AnatomySource().sample(40, seed=3)
    assert images.shape == (40, 1, 64, 64) and images.dtype == np.float32
    assert np.isfinite(images).all()
    np.testing.assert_allclose(images.min(axis=(1, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(images.max(axis=(1, 2, 3)), 1, atol=1e-6)


def test_anatomy_is_deterministic_per_seed_and_varies_between_seeds():
    source = AnatomySource()
    a, b, c = source.sample(6, 1), source.sample(6, 1), source.sample(6, 2)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0], a[1])  # images within a batch differ


def test_anatomy_orientation_matches_the_test_images():
    # Head at the top-centre, black air in the top rows; the face (left) is brighter than
    # the back of the neck corner on average because of the skin/fat of the face.
    images = AnatomySource().sample(64, seed=5)[:, 0]
    assert images[:, :3, :].mean() < 0.08  # air above the head
    assert images[:, 20:44, 20:44].mean() > 0.2  # brain in the middle


def test_params_are_json_and_change_the_output():
    plain = AnatomySource()
    json.dumps(plain.params())
    dark = AnatomySource(AnatomyParams(gamma_range=(2.0, 2.2)))
    assert plain.params() != dark.params()
    assert dark.sample(8, 0).mean() < plain.sample(8, 0).mean()


def test_sample_rejects_negative_counts():
    with pytest.raises(ValueError, match=">= 0"):
        AnatomySource().sample(-1, 0)


def test_missing_asset_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_heads"):
        AnatomySource(asset=tmp_path / "nope.npz").sample(1, 0)


def test_get_source():
    assert get_source("anatomy").name == "anatomy"
    assert get_source("auto").name in ("anatomy", "course")
    with pytest.raises(ValueError, match="unknown image source"):
        get_source("imagenet")


@pytest.mark.skipif(not CH2.exists(), reason="needs Debian's mricron-data (installed by .ci/run)")
def test_asset_rebuilds_from_the_debian_volume():
    from tools.build_heads import build

    rebuilt = build("colin27", CH2)
    with np.load(ASSET_PATH) as shipped:
        assert rebuilt["slices"].shape == shipped["slices"].shape
        diff = np.abs(rebuilt["slices"].astype(int) - shipped["slices"].astype(int))
        assert diff.max() <= 1  # identical up to rounding across library versions
        assert np.array_equal(rebuilt["lateral_mm"], shipped["lateral_mm"])
    # Face to the right. Verified on all 100 test images (face right): the lower-left
    # quarter (cerebellum, back of the neck) is brighter than the lower-right one (face,
    # with dark airways, mouth and sinuses).
    mid = rebuilt["slices"][len(rebuilt["slices"]) // 2].astype(float)
    half = mid.shape[0] // 2
    assert mid[half:, :half].mean() > mid[half:, half:].mean()


def test_background_is_a_positive_haze_not_clamped_zeros():
    images = AnatomySource().sample(64, seed=11)[:, 0]
    dark = images[images < 0.05]
    assert (images == 0).mean() < 0.001  # only the min-max normalised minimum is exactly 0
    assert 0.003 < np.median(dark) < 0.03  # the test images' background: median ~0.010


def test_params_from_json_overrides():
    params = AnatomyParams.from_overrides(json.loads('{"noise_range": [0, 0.02]}'), heads=("robex",))
    assert params.noise_range == (0, 0.02) and params.heads == ("robex",)
    assert params.gamma_range == AnatomyParams().gamma_range


def test_a_coarser_elastic_grid_keeps_crowns_rounder():
    # The elastic field drawn on fewer knots is smoother: at the same amplitude the skull's
    # crown stays wide a few rows below the top instead of being pinched into a point.
    from mri_inpaint.fidelity import framing_stats

    everything = np.zeros((64, 64), dtype=bool)
    crown = {knots: np.nanmean(framing_stats(
        AnatomySource(AnatomyParams(elastic_frac=0.2, elastic_knots=knots, crown_ratio_range=None)).sample(150, seed=4),
        everything)["crown_ratio"]) for knots in (3, 5)}
    assert crown[3] > crown[5] + 0.05


def _head_masks(images: np.ndarray) -> np.ndarray:
    """Each image's head: tissue (> 0.1) with its dark inner layers filled."""
    return filled_head(torch.from_numpy(images[:, 0] > 0.1)).numpy()


def test_an_elastic_field_faded_at_the_outline_bends_the_inside_only():
    # Same seed, same draws: the faded field leaves the outline where the affine alone puts it
    # (the unfaded field moves it), yet still moves the brain inside.
    free = {"elastic_frac": 0.1, "crown_ratio_range": None}  # every field kept
    affine_only, faded, unfaded = (AnatomySource(AnatomyParams(**{**free, **kw})).sample(64, seed=5) for kw in (
        {"elastic_frac": 0.0}, {"elastic_edge_px": 8}, {}))
    outline = _head_masks(affine_only)
    moved = {name: (_head_masks(x) != outline).mean() for name, x in (("faded", faded), ("unfaded", unfaded))}
    assert moved["faded"] < 0.5 * moved["unfaded"]
    inside = np.stack([ndimage.binary_erosion(m, iterations=10) for m in outline])
    assert np.abs(faded - affine_only)[:, 0][inside].mean() > 0.05


def test_elastic_fields_that_pinch_the_crown_are_redrawn():
    # Without the range, many fields pinch the crown into a point or flatten it; with it every
    # image's crown ratio (whole image) lies within the range, while the warps still move the
    # head as much as the free ones do (the fields are redrawn, not dropped).
    from mri_inpaint.fidelity import framing_stats

    everything = np.zeros((64, 64), dtype=bool)
    bounds = (0.6, 0.8)
    stats = {name: framing_stats(AnatomySource(AnatomyParams(**kw)).sample(200, seed=6), everything)
             for name, kw in (("free", {"crown_ratio_range": None}), ("kept", {"crown_ratio_range": bounds}),
                              ("affine", {"elastic_frac": 0.0}))}
    outside = {name: np.mean((s["crown_ratio"] < bounds[0]) | (s["crown_ratio"] > bounds[1]))
               for name, s in stats.items()}
    assert outside["free"] > 0.3
    # measured after the intensity changes and noise, so a few sit just past the edge
    assert outside["kept"] < min(0.1, outside["free"] / 5)
    spread = {name: np.nanstd(s["centre_col"]) for name, s in stats.items()}
    assert spread["kept"] > 0.8 * spread["free"] and spread["kept"] > 1.5 * spread["affine"]
