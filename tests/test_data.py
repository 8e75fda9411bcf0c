"""Tests for mri_inpaint.data: locating, loading and validating the test set and masks."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from mri_inpaint import data
from mri_inpaint.data import (DEFAULT_TEST_SET_ENV, describe_test_set, find_test_set,
                              load_mask, load_test_set)
from conftest import REAL_TEST_SET, find_real_test_set
from mri_inpaint.masks import DEFAULT_STRIPES, MIN_IMAGES_FOR_MASK, infer_mask, stripe_mask



# ---------------------------------------------------------------- helpers
def stripe_mask64() -> np.ndarray:
    """Vertical stripes, 4 of every 8 columns missing (50%)."""
    mask = np.zeros((64, 64), dtype=bool)
    mask[:, np.arange(64) % 8 >= 4] = True
    return mask


def make_images(n: int = 4, *, seed: int = 0) -> np.ndarray:
    """Seeded float32 ``(n, 1, 64, 64)`` images in [0.1, 1] with the stripes zeroed."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.1, 1.0, size=(n, 1, 64, 64)).astype(np.float32)
    images[..., stripe_mask64()] = 0.0
    return images


def save(tmp_path: Path, array, name: str = "test_set.npy") -> Path:
    path = tmp_path / name
    np.save(path, array, allow_pickle=True)
    return path


# ---------------------------------------------------------------- load_test_set: accepted
@pytest.mark.parametrize("shape", [(5, 1, 64, 64), (5, 64, 64)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_load_accepts_both_shapes_and_float_dtypes(tmp_path, shape, dtype):
    images = make_images(5).reshape(shape).astype(dtype)
    out = load_test_set(save(tmp_path, images))
    assert out.shape == (5, 1, 64, 64)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.reshape(shape), images.astype(np.float32))


def test_load_accepts_str_path(tmp_path):
    out = load_test_set(str(save(tmp_path, make_images(3))))
    assert out.shape == (3, 1, 64, 64)


def test_single_image_ok_without_mask_inference(tmp_path):
    out = load_test_set(save(tmp_path, make_images(1)), require_mask_inference=False)
    assert out.shape == (1, 1, 64, 64)


# ---------------------------------------------------------------- load_test_set: rejected
def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.npy"
    with pytest.raises(FileNotFoundError, match=r"nope\.npy.*not found"):
        load_test_set(path)


def test_load_directory(tmp_path):
    (tmp_path / "dir.npy").mkdir()
    with pytest.raises(ValueError, match=r"dir\.npy is a directory"):
        load_test_set(tmp_path / "dir.npy")


@pytest.mark.parametrize("name", ["test_set.npz", "test_set.txt", "test_set"])
def test_load_wrong_suffix(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"whatever")
    with pytest.raises(ValueError, match=r"expected a \.npy file"):
        load_test_set(path)


def test_load_npz_renamed_to_npy(tmp_path):
    path = tmp_path / "test_set.npy"
    with open(path, "wb") as fh:
        np.savez(fh, images=make_images(3))
    with pytest.raises(ValueError, match=r"test_set\.npy is not a valid \.npy file.*numpy\.save"):
        load_test_set(path)


def test_load_text_file_named_npy(tmp_path):
    path = tmp_path / "test_set.npy"
    path.write_text("0.1, 0.2, 0.3\n")
    with pytest.raises(ValueError, match=r"not a valid \.npy file"):
        load_test_set(path)


def test_load_empty_file(tmp_path):
    path = tmp_path / "test_set.npy"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"not a valid \.npy file"):
        load_test_set(path)


def test_load_truncated_npy(tmp_path):
    path = save(tmp_path, make_images(3))
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match=r"corrupt \.npy file"):
        load_test_set(path)


def test_load_pickled_object_array(tmp_path):
    arr = np.empty(3, dtype=object)
    arr[:] = [make_images(1)[0, 0]] * 3
    path = save(tmp_path, arr)
    with pytest.raises(ValueError, match=r"pickled object array.*float32"):
        load_test_set(path)


def test_load_plain_pickle_named_npy(tmp_path):
    path = tmp_path / "test_set.npy"
    path.write_bytes(pickle.dumps(make_images(3)))
    with pytest.raises(ValueError, match=r"not a valid \.npy file"):
        load_test_set(path)


@pytest.mark.parametrize("shape", [(4, 2, 64, 64), (4, 32, 32), (4, 64, 32), (64 * 64,),
                                   (64, 64), (2, 1, 1, 64, 64), (4, 64, 64, 1)])
def test_load_wrong_shape(tmp_path, shape):
    path = save(tmp_path, np.zeros(shape, dtype=np.float32))
    with pytest.raises(ValueError, match=r"has shape \(.*\), expected \(N, 1, 64, 64\) or \(N, 64, 64\)"):
        load_test_set(path)


@pytest.mark.parametrize("shape", [(0, 1, 64, 64), (0, 64, 64), (0,)])
def test_load_empty_array(tmp_path, shape):
    path = save(tmp_path, np.zeros(shape, dtype=np.float32))
    with pytest.raises(ValueError, match=r"is empty"):
        load_test_set(path)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, bool])
def test_load_integer_or_bool_dtype(tmp_path, dtype):
    path = save(tmp_path, (make_images(3) > 0.5).astype(dtype))
    with pytest.raises(ValueError, match=r"dtype .*expected float.*min-max normalisation to float32 in \[0, 1\]"):
        load_test_set(path)


def test_load_complex_dtype(tmp_path):
    path = save(tmp_path, make_images(3).astype(np.complex64))
    with pytest.raises(ValueError, match=r"dtype complex64, expected float"):
        load_test_set(path)


def test_load_nan_and_inf(tmp_path):
    images = make_images(3)
    images[0, 0, 0, 0] = np.nan
    images[1, 0, 5, 5] = np.inf
    images[2, 0, 6, 6] = -np.inf
    with pytest.raises(ValueError, match=r"contains 3 NaN/inf"):
        load_test_set(save(tmp_path, images))


@pytest.mark.parametrize("lo,hi", [(-0.5, 1.0), (0.0, 255.0), (-1.0, 2.0)])
def test_load_values_outside_unit_range(tmp_path, lo, hi):
    images = make_images(3)
    images[0, 0, 0, 0] = lo
    images[0, 0, 0, 1] = hi
    expected = rf"values in \[{lo:g}, {hi:g}\], expected \[0, 1\].*min-max normalised"
    with pytest.raises(ValueError, match=expected):
        load_test_set(save(tmp_path, images))


def test_load_too_few_images_for_mask_inference(tmp_path):
    path = save(tmp_path, make_images(MIN_IMAGES_FOR_MASK - 1))
    with pytest.raises(ValueError, match=rf"needs at least {MIN_IMAGES_FOR_MASK}.*--mask"):
        load_test_set(path)


# ---------------------------------------------------------------- load_mask
@pytest.mark.parametrize("shape", [(64, 64), (1, 1, 64, 64)])
@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64, np.float32])
def test_load_mask_accepts(tmp_path, shape, dtype):
    mask = stripe_mask64()
    out = load_mask(save(tmp_path, mask.reshape(shape).astype(dtype), "mask.npy"))
    assert out.dtype == bool and out.shape == (64, 64)
    np.testing.assert_array_equal(out, mask)


def test_load_mask_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"mask file .*nomask\.npy not found"):
        load_mask(tmp_path / "nomask.npy")


def test_load_mask_wrong_suffix(tmp_path):
    path = tmp_path / "mask.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match=r"mask file .*'\.png', expected a \.npy file"):
        load_mask(path)


def test_load_mask_pickled(tmp_path):
    arr = np.empty(2, dtype=object)
    path = save(tmp_path, arr, "mask.npy")
    with pytest.raises(ValueError, match=r"mask file .* pickled object array"):
        load_mask(path)


@pytest.mark.parametrize("shape", [(32, 32), (2, 64, 64), (64 * 64,)])
def test_load_mask_wrong_shape(tmp_path, shape):
    path = save(tmp_path, np.zeros(shape, dtype=bool), "mask.npy")
    with pytest.raises(ValueError, match=r"mask\.npy: mask must have shape \(64, 64\)"):
        load_mask(path)


def test_load_mask_non_binary(tmp_path):
    path = save(tmp_path, np.full((64, 64), 0.5, dtype=np.float32), "mask.npy")
    with pytest.raises(ValueError, match=r"mask\.npy: mask must be boolean or contain only 0 and 1"):
        load_mask(path)


@pytest.mark.parametrize("fill", [False, True], ids=["nothing missing", "everything missing"])
def test_load_mask_refuses_masks_that_fill_nothing_or_keep_nothing(tmp_path, fill):
    path = save(tmp_path, np.full((64, 64), fill), "mask.npy")
    with pytest.raises(ValueError, match="no pixel as missing" if not fill else "every pixel as missing"):
        load_mask(path)


def test_load_mask_warns_only_when_far_from_the_test_mask(tmp_path, caplog):
    load_mask(save(tmp_path, stripe_mask(DEFAULT_STRIPES), "mask.npy"))
    assert "differs from the test images' stripe mask" not in caplog.text
    load_mask(save(tmp_path, stripe_mask64(), "far.npy"))
    assert "far.npy differs from the test images' stripe mask" in caplog.text


def test_unreadable_file_is_a_clear_permission_error(tmp_path, monkeypatch):
    path = save(tmp_path, make_images(4))
    monkeypatch.setattr(data.os, "access", lambda p, mode: Path(p) != path)  # root ignores chmod
    with pytest.raises(PermissionError, match=r"cannot read test set file .*test_set\.npy: permission denied"):
        load_test_set(path)


# ---------------------------------------------------------------- find_test_set
@pytest.fixture
def layout(tmp_path, monkeypatch):
    """``tmp/project`` (the cwd) beside ``tmp/shared``, with $MRI_TEST_SET unset."""
    monkeypatch.delenv(DEFAULT_TEST_SET_ENV, raising=False)
    project = tmp_path / "project"
    shared = tmp_path / "shared"
    project.mkdir()
    shared.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setattr("mri_inpaint.paths.project_root", lambda: project)
    return project, shared


def touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def test_find_search_order(layout, monkeypatch):
    project, shared = layout
    explicit = touch(project / "explicit.npy")
    from_env = touch(project / "env.npy")
    local = touch(project / "test_set.npy")
    in_shared = touch(shared / "test_set.npy")
    monkeypatch.setenv(DEFAULT_TEST_SET_ENV, str(from_env))

    assert find_test_set(explicit) == explicit
    assert find_test_set() == from_env
    monkeypatch.delenv(DEFAULT_TEST_SET_ENV)
    assert find_test_set() == local
    local.unlink()
    assert find_test_set() == in_shared


def test_tests_find_the_real_test_set_where_the_readme_puts_it(layout, monkeypatch):
    project, _ = layout
    assert find_real_test_set() is None
    local = touch(project / "test_set.npy")
    assert find_real_test_set() == local
    from_env = touch(project / "elsewhere.npy")
    monkeypatch.setenv(DEFAULT_TEST_SET_ENV, str(from_env))
    assert find_real_test_set() == from_env


def test_find_uses_cwd_argument(tmp_path, monkeypatch):
    monkeypatch.delenv(DEFAULT_TEST_SET_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # the real cwd holds nothing
    project = tmp_path / "elsewhere" / "project"
    project.mkdir(parents=True)
    (tmp_path / "elsewhere" / "shared").mkdir()
    in_shared = touch(tmp_path / "elsewhere" / "shared" / "test_set.npy")
    assert find_test_set(cwd=project) == in_shared
    local = touch(project / "test_set.npy")
    assert find_test_set(cwd=project) == local


def test_find_falls_back_to_the_project_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(DEFAULT_TEST_SET_ENV, raising=False)
    elsewhere, project = tmp_path / "elsewhere", tmp_path / "repo" / "project"
    elsewhere.mkdir()
    project.mkdir(parents=True)
    (tmp_path / "repo" / "shared").mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr("mri_inpaint.paths.project_root", lambda: project)
    beside = touch(tmp_path / "repo" / "shared" / "test_set.npy")
    assert find_test_set() == beside  # run from another folder, the project's ../shared is found
    local = touch(elsewhere / "test_set.npy")
    assert find_test_set() == local  # the working folder comes first


def test_find_relative_explicit_and_env_use_cwd(layout, monkeypatch):
    project, _ = layout
    touch(project / "a.npy")
    assert find_test_set("a.npy", cwd=project) == project / "a.npy"
    monkeypatch.setenv(DEFAULT_TEST_SET_ENV, "a.npy")
    assert find_test_set(cwd=project) == project / "a.npy"


def test_find_explicit_missing(layout):
    project, _ = layout
    touch(project / "test_set.npy")  # present, but an explicit path wins and must exist
    with pytest.raises(FileNotFoundError, match=r"'missing\.npy' not found.*--test-set"):
        find_test_set("missing.npy")


def test_find_env_var_missing(layout, monkeypatch):
    project, _ = layout
    touch(project / "test_set.npy")
    monkeypatch.setenv(DEFAULT_TEST_SET_ENV, "/no/such/file.npy")
    with pytest.raises(FileNotFoundError, match=rf"\${DEFAULT_TEST_SET_ENV} is set to '/no/such/file\.npy'"):
        find_test_set()


def test_find_empty_env_var_is_ignored(layout, monkeypatch):
    project, _ = layout
    local = touch(project / "test_set.npy")
    monkeypatch.setenv(DEFAULT_TEST_SET_ENV, "")
    assert find_test_set() == local


def test_find_nothing_lists_every_place(layout):
    project, shared = layout
    with pytest.raises(FileNotFoundError) as info:
        find_test_set()
    msg = str(info.value)
    assert f"${DEFAULT_TEST_SET_ENV} (not set)" in msg
    assert str(project / "test_set.npy") in msg
    assert str(shared / "test_set.npy") in msg
    assert "--test-set PATH" in msg
    assert f"{DEFAULT_TEST_SET_ENV}=PATH" in msg
    assert "copy the coursework's test_set.npy into the project folder" in msg


def test_find_ignores_directory_named_test_set(layout):
    project, shared = layout
    (project / "test_set.npy").mkdir()
    in_shared = touch(shared / "test_set.npy")
    assert find_test_set() == in_shared


# ---------------------------------------------------------------- describe_test_set
def test_describe_test_set():
    images = make_images(4)
    mask = stripe_mask64()
    info = describe_test_set(images, mask)
    observed = images[..., ~mask]
    assert info["count"] == 4
    assert info["shape"] == (4, 1, 64, 64)
    assert info["dtype"] == "float32"
    assert info["observed_min"] == pytest.approx(float(observed.min()))
    assert info["observed_max"] == pytest.approx(float(observed.max()))
    assert info["observed_mean"] == pytest.approx(float(observed.mean()), rel=1e-6)
    assert info["observed_std"] == pytest.approx(float(observed.std()), rel=1e-5)
    assert info["observed_min"] >= 0.1  # the zeroed stripes are excluded
    assert info["missing_pixels"] == 64 * 32
    assert info["missing_fraction"] == pytest.approx(0.5)


def test_describe_accepts_3d_images_and_rejects_wrong_mask():
    images = make_images(2)[:, 0]
    assert describe_test_set(images, stripe_mask64())["shape"] == (2, 64, 64)
    with pytest.raises(ValueError, match=r"mask must have shape \(64, 64\)"):
        describe_test_set(images, np.zeros((32, 32), dtype=bool))


def test_round_trip_with_infer_mask(tmp_path):
    images = load_test_set(save(tmp_path, make_images(4)))
    np.testing.assert_array_equal(infer_mask(images), stripe_mask64())


# ---------------------------------------------------------------- the real coursework file
def test_real_test_set():
    if not REAL_TEST_SET.is_file():
        pytest.skip(f"coursework test set not present at {REAL_TEST_SET}")
    images = load_test_set(REAL_TEST_SET)
    assert images.shape == (100, 1, 64, 64)
    assert images.dtype == np.float32
    mask = infer_mask(images)
    assert mask.sum() == 2073
    info = describe_test_set(images, mask)
    assert info["missing_pixels"] == 2073
    assert 0.0 <= info["observed_min"] <= info["observed_max"] <= 1.0


def test_module_constants():
    assert data.DEFAULT_TEST_SET_ENV == "MRI_TEST_SET"
