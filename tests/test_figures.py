"""Tests for mri_inpaint.figures: the notebook's wide, labelled grids."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from mri_inpaint.figures import labelled_rows  # noqa: E402


def test_labelled_rows_draws_one_named_row_per_stack(tmp_path):
    images = np.random.default_rng(0).random((12, 1, 64, 64)).astype(np.float32)
    path = tmp_path / "rows.png"
    fig = labelled_rows({"input": images, "label": images[::-1]}, n=10, suptitle="pairs", path=path)
    axes = fig.get_axes()
    assert len(axes) == 20 and path.stat().st_size > 0
    assert [axes[0].get_ylabel(), axes[10].get_ylabel()] == ["input", "label"]
    width, height = fig.get_size_inches()
    assert width > 4 * height  # wide: ten images across, two rows
    assert np.array_equal(axes[10].get_images()[0].get_array(), images[-1, 0])


def test_labelled_rows_leaves_missing_panels_blank():
    fig = labelled_rows({"test image": np.zeros((3, 64, 64))}, n=5)
    assert sum(bool(ax.get_images()) for ax in fig.get_axes()) == 3
