"""Shared fixtures: tiny seeded synthetic images, the default stripe mask, a corrupted test-set file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mri_inpaint.data import find_test_set
from mri_inpaint.masks import DEFAULT_STRIPES, StripeParams, corrupt, stripe_mask



def find_real_test_set() -> Path | None:
    """The real coursework test set, found as the CLI finds it, or None.

    :func:`~mri_inpaint.data.find_test_set`: ``$MRI_TEST_SET``, ``./test_set.npy``,
    ``../shared/test_set.npy``, then the same two beside the project folder.
    """
    try:
        return find_test_set()
    except FileNotFoundError:
        return None


#: The real test set, or a path that does not exist (tests needing it skip).
REAL_TEST_SET = find_real_test_set() or Path("test_set.npy (not found: see mri_inpaint.data.find_test_set)")


def make_smooth_images(n: int, shape: tuple[int, int] = (64, 64), seed: int = 0) -> np.ndarray:
    """``n`` smooth float32 images ``(n, 1, H, W)``, each min-max normalised to [0, 1].

    Each image is a sum of a few wide Gaussian blobs plus a gentle ramp, like a blurry head.
    """
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    out = np.empty((n, 1, *shape))
    for i in range(n):
        img = rng.uniform(-0.3, 0.3) * r / shape[0] + rng.uniform(-0.3, 0.3) * c / shape[1]
        for _ in range(4):
            y, x = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
            s = rng.uniform(6, 16)
            img = img + rng.uniform(0.2, 1.0) * np.exp(-((r - y) ** 2 + (c - x) ** 2) / (2 * s * s))
        out[i, 0] = (img - img.min()) / (img.max() - img.min())
    return out.astype(np.float32)


def slanted_mask(shape=(64, 64)) -> np.ndarray:
    """A slanted stripe mask (period 4.1, width 2, slant -0.3), about half missing."""
    return stripe_mask(StripeParams(period=4.1, width=2.0, slant=-0.3, phase=0.1, shape=shape))


def random_images(n=3, shape=(64, 64), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, size=(n, 1, *shape)).astype(np.float32)


def smooth_images(n=3, shape=(64, 64), seed=0) -> np.ndarray:
    """Smooth float32 images in [0, 1]: sums of wide Gaussian blobs."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    out = np.zeros((n, 1, *shape))
    for i in range(n):
        for _ in range(4):
            y, x = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
            s = rng.uniform(8, 16)
            out[i, 0] += rng.uniform(0.2, 0.5) * np.exp(-((r - y) ** 2 + (c - x) ** 2) / (2 * s * s))
    return np.clip(out, 0, 1).astype(np.float32)


@pytest.fixture(autouse=True)
def copies_of_replaced_files_stay_out_of_the_checkout(tmp_path_factory, monkeypatch):
    """Files a test replaces are copied into a temporary folder, not the project's ``runs/previous``."""
    monkeypatch.setenv("MRI_PREVIOUS_DIR", str(tmp_path_factory.mktemp("previous")))


@pytest.fixture
def mask() -> np.ndarray:
    """bool (64, 64) slanted-stripe mask (the default pattern), True = missing."""
    return stripe_mask(DEFAULT_STRIPES)


@pytest.fixture
def clean_images() -> np.ndarray:
    """48 smooth seeded float32 images (48, 1, 64, 64) in [0, 1]."""
    return make_smooth_images(48, seed=0)


@pytest.fixture
def corrupted_images(clean_images, mask) -> np.ndarray:
    """``clean_images`` with the masked pixels set to 0."""
    return corrupt(clean_images, mask)


@pytest.fixture
def test_set_file(tmp_path, corrupted_images) -> Path:
    """A corrupted test set, float32 (48, 1, 64, 64), saved as ``tmp_path/test_set.npy``."""
    path = tmp_path / "test_set.npy"
    np.save(path, corrupted_images.astype(np.float32))
    return path
