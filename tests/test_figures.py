"""Tests for mri_inpaint.figures: the notebook's wide, labelled grids."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mri_inpaint.figures import error_panels, labelled_rows, texture_window, training_curves  # noqa: E402


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


# ---------------------------------------------------------------- truth, fill and error
def test_texture_window_finds_the_textured_patch_inside_the_head():
    images = np.zeros((3, 1, 64, 64), dtype=np.float32)
    images[2, 0, 30:46, 8:24] = np.indices((16, 16)).sum(axis=0) % 2  # a checkerboard on image 2
    assert texture_window(images, 16, inside=0) == (2, 30, 8)  # no head anywhere: every window counts
    assert texture_window(images[:, 0], 8, inside=0)[0] == 2
    head = np.zeros((1, 64, 64), dtype=np.float32)
    head[0, 4:60, 4:60] = 0.5  # a bright square "head": its outline is the strongest edge
    head[0, 30:42, 20:32] += 0.3 * (np.indices((12, 12)).sum(axis=0) % 2)  # texture well inside it
    assert texture_window(head, 8, inside=0)[1:] != (32, 22)
    i, r, c = texture_window(head, 8)
    assert i == 0 and 30 - 8 < r <= 34 and 20 - 8 < c <= 24  # a window over the texture, off the outline
    with pytest.raises(ValueError, match="window size"):
        texture_window(images, 65)


def test_error_panels_show_truth_fill_error_and_a_labelled_zoom(tmp_path):
    rng = np.random.default_rng(1)
    truth = np.zeros((8, 1, 64, 64), dtype=np.float32)
    truth[:, 0, 4:60, 4:60] = 0.4 + 0.05 * rng.random((8, 56, 56))  # smooth "heads"
    truth[4, 0, 24:40, 24:40] = rng.random((16, 16))  # the most textured window, inside head #4
    mask = np.zeros((64, 64), dtype=bool)
    mask[:, ::4] = True
    filled = np.where(mask, truth + 0.05, truth)
    fig = error_panels(truth, filled, mask, n=6, zoom=16, title="held-out head", path=tmp_path / "err.png")
    assert (tmp_path / "err.png").stat().st_size > 0
    images = [ax for ax in fig.get_axes() if ax.get_images()]
    assert len(images) == 6 * 3 + 3  # six slices x (truth, fill, error), then the zoom's three panels
    assert [images[0].get_ylabel(), images[6].get_ylabel(), images[12].get_ylabel()] == ["truth", "fill", "|error|"]
    assert images[0].get_title().startswith("#0: ") and images[0].get_title().endswith(" dB")
    labels = [ax.get_ylabel() for ax in fig.get_axes() if not ax.get_images()]
    assert "|fill - truth| (intensity, images in [0, 1])" in labels and "|fill - truth|" in labels  # colour bars
    zoom = images[-3:]
    assert [ax.get_title() for ax in zoom] == ["truth", "fill", "|fill - truth|"]
    k, r, c = texture_window(truth[:6], 16)
    assert k == 4 and abs(r - 24) <= 2 and abs(c - 24) <= 2
    np.testing.assert_array_equal(zoom[0].get_images()[0].get_array(), truth[4, 0, r:r + 16, c:c + 16])
    np.testing.assert_allclose(zoom[2].get_images()[0].get_array().max(), 0.05, atol=1e-6)
    assert any(p.get_width() == 16 for p in images[4].patches)  # the window is boxed on its slice
    width, height = fig.get_size_inches()
    assert width > 8
    fixed = error_panels(truth, filled, mask, n=6, zoom=8, window=(1, 0, 56))
    assert "a fixed window" in fixed.subfigs[1]._suptitle.get_text()
    with pytest.raises(ValueError, match="must name one of the 6 images"):
        error_panels(truth, filled, mask, n=6, zoom=8, window=(6, 0, 0))


# ---------------------------------------------------------------- training curves
def _history(epochs: int) -> list[dict]:
    return [{"epoch": e, "train_l1_gaps": 0.05 / e, "val_mae_gaps": 0.04 / e, "val_psnr_gaps": 26 + e,
             "real_check_psnr": 27.5 + 0.1 * (e % 2)} for e in range(1, epochs + 1)]


@pytest.mark.parametrize("epochs", [1, 8])
def test_training_curves_put_both_losses_on_one_axis_and_the_check_on_its_own(epochs):
    fig = training_curves(_history(epochs))
    loss, psnr, check = fig.get_axes()
    assert [line.get_label() for line in loss.get_lines()] == ["training (mean over the epoch)",
                                                                 "validation (after the epoch)"]
    assert "L1" in loss.get_title() and len(loss.get_lines()[1].get_xdata()) == epochs
    assert [line.get_label() for line in psnr.get_lines()] == ["validation PSNR (gaps)"]
    assert [line.get_label() for line in check.get_lines()] == ["label-free check"]
    assert "label-free check" in check.get_title() and all(ax.get_xlabel() == "epoch" for ax in (loss, psnr, check))


def test_training_curves_without_the_check_say_so():
    history = [{k: v for k, v in row.items() if k != "real_check_psnr"} for row in _history(2)]
    check = training_curves(history).get_axes()[2]
    assert not check.get_lines() and check.texts[0].get_text() == "not recorded"
