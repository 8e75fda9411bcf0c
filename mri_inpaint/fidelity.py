"""How closely a set of clean images resembles the test images, judged on observed pixels only.

The test images' gaps carry no information, so every measure applies the test mask to the
candidate images too and compares the observed pixels (mask False) alone. Used to choose the
course generator's settings and to tune and check the embedded source.
"""
from __future__ import annotations

import time

import numpy as np


def _observed(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(N, n_observed)`` float64 values of the observed pixels of ``(N, 1, H, W)`` images."""
    images = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    return images[:, ~np.asarray(mask, dtype=bool).reshape(-1)]


def mean_image_correlation(images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> float:
    """Pearson correlation of the two sets' mean images over the observed pixels.

    High when the anatomy sits in the same places (slice position, framing, orientation).
    """
    a, b = _observed(images, mask).mean(axis=0), _observed(test_images, mask).mean(axis=0)
    return float(np.corrcoef(a, b)[0, 1])


def nearest_neighbour_mse(images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> float:
    """Mean over test images of the MSE (observed pixels) to their closest image in ``images``.

    Low when every test image has a close look-alike among the candidates.
    """
    a, b = _observed(images, mask), _observed(test_images, mask)
    # ||b - a||^2 = |b|^2 - 2 b.a + |a|^2, in one matrix product
    d = (b ** 2).sum(1)[:, None] - 2 * b @ a.T + (a ** 2).sum(1)[None]
    return float(np.maximum(d.min(axis=1), 0).mean() / a.shape[1])


def intensity_distance(images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> float:
    """Wasserstein (earth mover's) distance between the observed-pixel intensity distributions."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(_observed(images, mask).ravel(), _observed(test_images, mask).ravel()))


def fidelity(images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """All three measures: ``{"mean_image_corr", "nn_mse", "intensity_w1"}``."""
    return {"mean_image_corr": mean_image_correlation(images, test_images, mask),
            "nn_mse": nearest_neighbour_mse(images, test_images, mask),
            "intensity_w1": intensity_distance(images, test_images, mask)}


def timed_fidelity(setting: str, draw, test_images: np.ndarray, mask: np.ndarray) -> dict:
    """Draw images with ``draw()``, time it, and score them with :func:`fidelity`.

    Returns:
        ``{"setting", "s_per_image", "images", **fidelity(...)}``; the seconds are this row's own.
    """
    t0 = time.perf_counter()
    images = draw()
    seconds = (time.perf_counter() - t0) / max(len(images), 1)
    return {"setting": setting, "s_per_image": seconds, "images": images, **fidelity(images, test_images, mask)}
