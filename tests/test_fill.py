"""Tests for mri_inpaint.fill: verification of filled stacks and safe, atomic writing."""
from __future__ import annotations

import numpy as np
import pytest

from mri_inpaint.baselines import row_interpolate_np
from mri_inpaint.fill import verify_filled, write_filled


@pytest.fixture
def filled(corrupted_images, mask) -> np.ndarray:
    out = row_interpolate_np(corrupted_images, mask)
    assert out.dtype == np.float32
    return out


# ---------------------------------------------------------------- verify_filled
def test_verify_accepts_a_good_fill(filled, corrupted_images, mask):
    verify_filled(filled, corrupted_images, mask)
    verify_filled(filled[:, 0], corrupted_images[:, 0], mask)  # (N, H, W) layout


def test_verify_catches_changed_observed_pixel(filled, corrupted_images, mask):
    bad = filled.copy()
    r, c = np.argwhere(~mask)[10]
    bad[3, 0, r, c] = np.nextafter(bad[3, 0, r, c], np.float32(2))  # one ulp is enough
    with pytest.raises(ValueError, match="observed pixels changed"):
        verify_filled(bad, corrupted_images, mask)


@pytest.mark.parametrize("value, match", [(np.nan, "NaN or inf"), (np.inf, "NaN or inf"),
                                          (1.5, r"leave \[0, 1\]"), (-0.01, r"leave \[0, 1\]")])
def test_verify_catches_bad_values(filled, corrupted_images, mask, value, match):
    bad = filled.copy()
    r, c = np.argwhere(mask)[0]
    bad[0, 0, r, c] = value
    with pytest.raises(ValueError, match=match):
        verify_filled(bad, corrupted_images, mask)


def test_verify_catches_wrong_shape_and_dtype(filled, corrupted_images, mask):
    with pytest.raises(ValueError, match="shape"):
        verify_filled(filled[:-1], corrupted_images, mask)
    with pytest.raises(ValueError, match="shape"):
        verify_filled(filled[:, 0], corrupted_images, mask)
    with pytest.raises(ValueError, match="float64, the input is float32"):
        verify_filled(filled.astype(np.float64), corrupted_images, mask)


# ---------------------------------------------------------------- write_filled
def test_write_filled_writes_and_verifies(tmp_path, filled, corrupted_images, mask):
    out = write_filled(tmp_path / "out.npy", filled, corrupted_images, mask, input_path=tmp_path / "in.npy")
    assert out == tmp_path / "out.npy"
    back = np.load(out, allow_pickle=False)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, filled)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]  # no temp file left


def test_write_filled_creates_parent_folder(tmp_path, filled, corrupted_images, mask):
    out = write_filled(tmp_path / "a" / "b" / "out.npy", filled, corrupted_images, mask)
    np.testing.assert_array_equal(np.load(out), filled)


def test_write_filled_refuses_bad_fill_and_keeps_old_output(tmp_path, filled, corrupted_images, mask):
    path = tmp_path / "out.npy"
    np.save(path, np.zeros(3, np.float32))
    bad = filled.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_filled(path, bad, corrupted_images, mask)
    np.testing.assert_array_equal(np.load(path), np.zeros(3, np.float32))  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]


def test_write_filled_verifies_what_was_written(tmp_path, filled, corrupted_images, mask, monkeypatch):
    out = tmp_path / "out.npy"
    np.save(out, filled)  # a previous good result
    real_save = np.save

    def lossy_save(file, array, **kwargs):  # a disk that loses precision
        return real_save(file, np.asarray(array).astype(np.float16).astype(np.float32), **kwargs)
    monkeypatch.setattr(np, "save", lossy_save)
    with pytest.raises(ValueError, match="observed pixels changed"):
        write_filled(out, filled, corrupted_images, mask)
    monkeypatch.undo()
    np.testing.assert_array_equal(np.load(out), filled)  # the bad write never replaced it
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]  # no temporary file left


def test_write_filled_refuses_its_input(tmp_path, filled, corrupted_images, mask, monkeypatch):
    src = tmp_path / "test_set.npy"
    np.save(src, corrupted_images)
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        write_filled(src, filled, corrupted_images, mask, input_path=src)
    monkeypatch.chdir(tmp_path)  # a relative spelling of the same file is refused too
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        write_filled("./sub/../test_set.npy", filled, corrupted_images, mask, input_path=src)
    np.testing.assert_array_equal(np.load(src), corrupted_images)


def test_write_filled_existing_output_needs_overwrite(tmp_path, filled, corrupted_images, mask):
    path = tmp_path / "out.npy"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_filled(path, filled, corrupted_images, mask, overwrite=False)
    assert path.read_bytes() == b"old"
    write_filled(path, filled, corrupted_images, mask, overwrite=True)
    np.testing.assert_array_equal(np.load(path), filled)


def test_write_filled_needs_npy_suffix(tmp_path, filled, corrupted_images, mask):
    with pytest.raises(ValueError, match=r"\.npy"):
        write_filled(tmp_path / "out.txt", filled, corrupted_images, mask)
    assert not (tmp_path / "out.txt").exists()
