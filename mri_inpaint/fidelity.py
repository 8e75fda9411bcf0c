"""How closely a set of clean images resembles the test images, judged on observed pixels only.

The test images' gaps carry no information, so every measure applies the test mask to the
candidate images too and compares the observed pixels (mask False) alone. Used to choose the
course generator's settings and to tune and test the embedded source.

Two kinds of measure: set-to-set distances (:func:`fidelity`) and per-image framing and shape
statistics (:func:`framing_stats`), summarised as each statistic's mean and spread and compared
with the test images' own (:func:`framing_comparison`): a set is framed like the test images
when every statistic's mean lies within the test images' mean +- one standard deviation.
Sets compared with each other must be of equal size (the notebook draws the same number for every
row, and :func:`~mri_inpaint.generation.plan_generation` refuses rows of different sizes): a set-to-set
distance such as the nearest-neighbour MSE falls as the candidate set grows.
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


#: An observed pixel brighter than this is tissue (the test images' background stays below ~0.02).
TISSUE_THRESHOLD = 0.1
#: Rows below the top margin at which the crown's width is read (:func:`framing_stats`).
CROWN_DEPTH = 6
#: Framing statistics, in table order, with their descriptions.
FRAMING_STATS = {
    "top_margin": "first row with tissue (top margin)",
    "first_col": "first column with tissue",
    "last_col": "last column with tissue",
    "head_width": "columns from the first to the last with tissue",
    "tissue_fraction": "tissue fraction of the observed pixels",
    "mean": "mean intensity",
    "p99": "99th percentile intensity",
    "crown_ratio": f"width of the tissue {CROWN_DEPTH} rows below the top / head width (round crown: high)",
    "centre_col": "tissue centroid column",
    "centre_row": "tissue centroid row",
}


def framing_stats(images: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image framing and shape statistics of ``(N, 1, H, W)`` images on their observed pixels.

    Tissue is an observed pixel above :data:`TISSUE_THRESHOLD`; rows and columns are 0-based,
    an image without tissue gets NaN positions. The keys are those of :data:`FRAMING_STATS`.
    """
    images = np.asarray(images, dtype=np.float64)
    images = images.reshape(len(images), *np.shape(mask))
    obs = ~np.asarray(mask, dtype=bool)
    tissue = (images > TISSUE_THRESHOLD) & obs
    n, h, w = tissue.shape
    rows_on, cols_on = tissue.any(axis=2), tissue.any(axis=1)
    has = rows_on.any(axis=1)

    def first(on):
        return np.where(has, on.argmax(axis=1), np.nan)

    top, first_col = first(rows_on), first(cols_on)
    last_col = np.where(has, w - 1 - cols_on[:, ::-1].argmax(axis=1), np.nan)
    width = last_col - first_col + 1
    # The crown: the tissue's column extent a few rows below the top (a trapezoidal or pointed
    # skull is narrow there, a round one wide). Observed pixels of that row and its neighbours.
    crown = np.full(n, np.nan)
    for i in np.flatnonzero(has):
        r = int(top[i]) + CROWN_DEPTH
        cols = np.flatnonzero(tissue[i, max(r - 1, 0):r + 2].any(axis=0))
        if len(cols):
            crown[i] = (cols[-1] - cols[0] + 1) / width[i]
    count = tissue.sum(axis=(1, 2))
    r_idx, c_idx = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        centre_row = (tissue * r_idx).sum(axis=(1, 2)) / count
        centre_col = (tissue * c_idx).sum(axis=(1, 2)) / count
    values = images[:, obs]
    return {"top_margin": top, "first_col": first_col, "last_col": last_col, "head_width": width,
            "tissue_fraction": count / obs.sum(), "mean": values.mean(axis=1),
            "p99": np.percentile(values, 99, axis=1), "crown_ratio": crown,
            "centre_col": centre_col, "centre_row": centre_row}


def framing_summary(images: np.ndarray, mask: np.ndarray) -> dict[str, dict[str, float]]:
    """Each framing statistic's ``{"mean", "sd"}`` over ``images`` (NaNs of empty images left out)."""
    return {k: {"mean": float(np.nanmean(v)), "sd": float(np.nanstd(v))}
            for k, v in framing_stats(images, mask).items()}


def framing_comparison(images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> dict:
    """The framing statistics of ``images`` against the test images'.

    Returns:
        ``{"stats": {name: {"mean", "sd", "test_mean", "test_sd", "z", "within", "sd_ratio"}},
        "within": k, "of": m}``: ``z`` is the set's mean less the test mean, in test standard
        deviations; ``within`` whether ``|z| <= 1``; ``sd_ratio`` the set's spread over the test's.
    """
    ours, test = framing_summary(images, mask), framing_summary(test_images, mask)
    stats = {}
    for k in FRAMING_STATS:
        t_sd = test[k]["sd"]
        z = (ours[k]["mean"] - test[k]["mean"]) / t_sd if t_sd > 0 else (
            0.0 if ours[k]["mean"] == test[k]["mean"] else float("inf"))
        stats[k] = {**ours[k], "test_mean": test[k]["mean"], "test_sd": t_sd, "z": float(z),
                    "within": bool(abs(z) <= 1), "sd_ratio": ours[k]["sd"] / t_sd if t_sd > 0 else float("nan")}
    return {"stats": stats, "within": sum(s["within"] for s in stats.values()), "of": len(stats)}


def framing_rows(comparison: dict) -> list[dict]:
    """One row per statistic of a :func:`framing_comparison`, for a table: ``statistic``, ``test``, ``images``, ``z``, ``within``."""
    return [{"statistic": FRAMING_STATS[k], "test": f"{s['test_mean']:.3f} ± {s['test_sd']:.3f}",
             "images": f"{s['mean']:.3f} ± {s['sd']:.3f}", "z": s["z"], "within": "yes" if s["within"] else "no"}
            for k, s in comparison["stats"].items()]


def fidelity(images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """All three measures: ``{"mean_image_corr", "nn_mse", "intensity_w1"}``."""
    return {"mean_image_corr": mean_image_correlation(images, test_images, mask),
            "nn_mse": nearest_neighbour_mse(images, test_images, mask),
            "intensity_w1": intensity_distance(images, test_images, mask)}


def timed_fidelity(setting: str, draw, test_images: np.ndarray, mask: np.ndarray) -> dict:
    """Draw images with ``draw()``, time it, and score them with :func:`fidelity` and the framing statistics.

    Returns:
        ``{"setting", "s_per_image", "images", **fidelity(...), "framing", "framing_within"}``:
        the seconds are this row's own; ``framing`` is :func:`framing_comparison`, and
        ``framing_within`` its summary "k of m" (statistics within the test images' mean +- 1 sd).
        Rows compared with each other should draw the same number of images.
    """
    t0 = time.perf_counter()
    images = draw()
    seconds = (time.perf_counter() - t0) / max(len(images), 1)
    framing = framing_comparison(images, test_images, mask)
    return {"setting": setting, "s_per_image": seconds, "images": images, **fidelity(images, test_images, mask),
            "framing": framing, "framing_within": f"{framing['within']} of {framing['of']}"}
