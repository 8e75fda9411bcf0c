"""Image-quality metrics on the missing pixels and on whole images (NumPy and scikit-image).

Conventions: images are float arrays ``(N, 1, H, W)`` (or ``(N, H, W)``) in ``[0, 1]``; a
mask is bool ``(H, W)`` shared by all images, or ``(N, 1, H, W)``, True where a pixel is
missing (see :mod:`mri_inpaint.masks`). Every metric uses a data range of 1.
"""
from __future__ import annotations

import numpy as np

#: PSNR (dB) reported when prediction and target agree exactly (instead of ``inf``):
#: the MSE is floored at ``10 ** (-PSNR_CAP_DB / 10)``.
PSNR_CAP_DB = 100.0


def as_images(x) -> np.ndarray:
    """``x`` as a float64 ``(N, 1, H, W)`` array (a ``(N, H, W)`` stack gets a channel axis)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected images of shape (N,1,H,W), got {x.shape}")
    return x


def _gap_weights(mask, shape: tuple[int, ...]) -> np.ndarray:
    """The mask broadcast to ``shape`` and flattened per image; rejects images without gaps."""
    m = np.broadcast_to(np.asarray(mask).astype(bool), shape).reshape(shape[0], -1)
    if not m.any(axis=1).all():
        raise ValueError("every image needs at least one missing pixel (mask True) to be scored on gaps")
    return m


def psnr_from_mse(mse) -> np.ndarray:
    """PSNR (dB, data range 1) of MSEs, capped at :data:`PSNR_CAP_DB`."""
    floor = 10.0 ** (-PSNR_CAP_DB / 10.0)
    return 10.0 * np.log10(1.0 / np.maximum(np.asarray(mse, dtype=np.float64), floor))


def psnr(pred, target) -> np.ndarray:
    """Whole-image PSNR ``10 log10(1 / MSE)``, one value per image (float64 ``(N,)``, dB)."""
    pred, target = as_images(pred), as_images(target)
    return psnr_from_mse(((pred - target) ** 2).reshape(len(pred), -1).mean(axis=1))


def masked_psnr(pred, target, mask) -> np.ndarray:
    """PSNR over the missing pixels only, one value per image (float64 ``(N,)``, dB).

    Observed pixels never affect the score. Raises ValueError if an image has no gap.
    """
    pred, target = as_images(pred), as_images(target)
    m = _gap_weights(mask, pred.shape)
    err = ((pred - target) ** 2).reshape(len(pred), -1)
    return psnr_from_mse((err * m).sum(axis=1) / m.sum(axis=1))


def ssim_maps(pred, target) -> tuple[np.ndarray, np.ndarray]:
    """Per-image mean SSIM and local SSIM maps (Wang et al., 2004, IEEE TIP 13(4)).

    Uses :func:`skimage.metrics.structural_similarity` with ``data_range=1`` and its
    default 7x7 uniform window; the mean excludes the 3-pixel border as scikit-image
    does, the maps cover every pixel (reflected padding).

    Returns:
        ``(means (N,), maps (N, 1, H, W))``, float64.
    """
    from skimage.metrics import structural_similarity

    pred, target = as_images(pred), as_images(target)
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch: {pred.shape} vs {target.shape}")
    means = np.empty(len(pred))
    maps = np.empty_like(pred)
    for i in range(len(pred)):
        means[i], maps[i, 0] = structural_similarity(pred[i, 0], target[i, 0], data_range=1.0, full=True)
    return means, maps


def masked_mean(values, mask) -> np.ndarray:
    """Mean of per-pixel ``values`` ``(N, 1, H, W)`` over each image's missing pixels."""
    values = as_images(values)
    m = _gap_weights(mask, values.shape)
    return (values.reshape(len(values), -1) * m).sum(axis=1) / m.sum(axis=1)


def evaluate_fill(pred, target, mask) -> dict[str, float]:
    """All metrics of a filled stack, averaged over images.

    Args:
        pred: ``(N, 1, H, W)`` filled images.
        target: ``(N, 1, H, W)`` ground truth.
        mask: bool ``(H, W)`` or ``(N, 1, H, W)``, True where missing.

    Returns:
        ``{"psnr_gaps", "ssim_gaps", "psnr_image", "ssim_image", "mae_gaps"}``: means over
        images of the gap PSNR, the SSIM map averaged over the gaps, the whole-image PSNR,
        scikit-image's mean SSIM, and the mean absolute error over the gaps.
    """
    pred, target = as_images(pred), as_images(target)
    means, maps = ssim_maps(pred, target)
    return {
        "psnr_gaps": float(masked_psnr(pred, target, mask).mean()),
        "ssim_gaps": float(masked_mean(maps, mask).mean()),
        "psnr_image": float(psnr(pred, target).mean()),
        "ssim_image": float(means.mean()),
        "mae_gaps": float(masked_mean(np.abs(pred - target), mask).mean()),
    }


def paired_difference(a, b) -> dict[str, float]:
    """Mean, spread and standard error of the paired differences ``a - b`` (e.g. per-image PSNRs of two fills).

    Args:
        a, b: one score per image, same images in the same order.

    Returns:
        ``{"mean", "sd", "se", "n"}``: the mean difference, its sample standard deviation
        (``ddof=1``), the standard error ``sd / sqrt(n)`` (both NaN for a single pair) and ``n``.
    """
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired scores need two equally long, non-empty lists, got {a.size} and {b.size}")
    d = a - b
    sd = float(d.std(ddof=1)) if d.size > 1 else float("nan")
    return {"mean": float(d.mean()), "sd": sd, "se": sd / float(np.sqrt(d.size)), "n": int(d.size)}
