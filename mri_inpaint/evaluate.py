"""Score gap filling: masked PSNR/SSIM, model inference, test-time self-ensembling, method tables.

Conventions: images are float arrays ``(N, 1, H, W)`` in ``[0, 1]``; a mask is bool
``(H, W)`` (shared by all images) or ``(N, 1, H, W)``, True where a pixel is missing
(see :mod:`mri_inpaint.masks`). Every metric uses a data range of 1.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .baselines import biharmonic, row_interpolate_np, zero_fill
from .masks import corrupt

#: PSNR (dB) reported when prediction and target agree exactly (instead of ``inf``):
#: the MSE is floored at ``10 ** (-PSNR_CAP_DB / 10)``.
PSNR_CAP_DB = 100.0

FillFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


# ---------------------------------------------------------------- helpers
def _as_images(x) -> np.ndarray:
    """``x`` as a float64 ``(N, 1, H, W)`` array (a ``(N, H, W)`` stack gets a channel axis)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected images of shape (N,1,H,W), got {x.shape}")
    return x


def _full_mask(mask, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast an ``(H, W)`` or ``(N, 1, H, W)`` mask to bool ``shape``; reject empty masks."""
    m = np.broadcast_to(np.asarray(mask).astype(bool), shape)
    if not m.reshape(shape[0], -1).any(axis=1).all():
        raise ValueError("every image needs at least one missing pixel (mask True) to be scored on gaps")
    return m


def _psnr_from_mse(mse: np.ndarray) -> np.ndarray:
    """PSNR (dB, data range 1) of per-image MSEs, capped at :data:`PSNR_CAP_DB`."""
    floor = 10.0 ** (-PSNR_CAP_DB / 10.0)
    return 10.0 * np.log10(1.0 / np.maximum(mse, floor))


# ---------------------------------------------------------------- PSNR
def psnr(pred, target) -> np.ndarray:
    """Whole-image PSNR, one value per image.

    ``PSNR = 10 log10(1 / MSE)`` with data range 1; identical images give
    :data:`PSNR_CAP_DB` instead of ``inf``.

    Args:
        pred, target: ``(N, 1, H, W)`` float images.

    Returns:
        float64 ``(N,)`` PSNR in dB.
    """
    pred, target = _as_images(pred), _as_images(target)
    mse = ((pred - target) ** 2).reshape(len(pred), -1).mean(axis=1)
    return _psnr_from_mse(mse)


def masked_psnr(pred, target, mask) -> np.ndarray:
    """PSNR over the missing pixels only (mask True), one value per image.

    The MSE is averaged over the gap pixels of each image, so observed pixels never
    affect the score. Identical gaps give :data:`PSNR_CAP_DB` instead of ``inf``.

    Args:
        pred, target: ``(N, 1, H, W)`` float images.
        mask: bool ``(H, W)`` or ``(N, 1, H, W)``, True where missing.

    Returns:
        float64 ``(N,)`` PSNR in dB.

    Raises:
        ValueError: an image has no missing pixel.
    """
    pred, target = _as_images(pred), _as_images(target)
    m = _full_mask(mask, pred.shape).reshape(len(pred), -1)
    err = ((pred - target) ** 2).reshape(len(pred), -1)
    mse = (err * m).sum(axis=1) / m.sum(axis=1)
    return _psnr_from_mse(mse)


# ---------------------------------------------------------------- SSIM
def _ssim_all(pred, target) -> tuple[np.ndarray, np.ndarray]:
    """Per-image mean SSIM (as scikit-image reports it) and full SSIM maps."""
    from skimage.metrics import structural_similarity

    pred, target = _as_images(pred), _as_images(target)
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch: {pred.shape} vs {target.shape}")
    means = np.empty(len(pred))
    maps = np.empty_like(pred)
    for i in range(len(pred)):
        means[i], maps[i, 0] = structural_similarity(
            pred[i, 0], target[i, 0], data_range=1.0, full=True)
    return means, maps


def ssim_maps(pred, target) -> np.ndarray:
    """Local SSIM maps (Wang et al., 2004, "Image quality assessment: from error
    visibility to structural similarity", IEEE TIP 13(4)).

    Uses :func:`skimage.metrics.structural_similarity` with ``data_range=1``, its
    default 7x7 uniform window (``gaussian_weights=False``); the 3-pixel border is
    computed with reflected padding.

    Args:
        pred, target: ``(N, 1, H, W)`` float images.

    Returns:
        float64 ``(N, 1, H, W)`` SSIM maps.
    """
    return _ssim_all(pred, target)[1]


def ssim(pred, target) -> np.ndarray:
    """Mean SSIM per image, exactly as scikit-image reports it (Wang et al., 2004).

    Note that scikit-image averages the map without its 3-pixel border.

    Args:
        pred, target: ``(N, 1, H, W)`` float images.

    Returns:
        float64 ``(N,)``.
    """
    return _ssim_all(pred, target)[0]


def masked_ssim(pred, target, mask) -> np.ndarray:
    """Mean of the SSIM map (:func:`ssim_maps`) over the missing pixels, per image.

    Unlike :func:`ssim`, gap pixels on the image border count too.

    Args:
        pred, target: ``(N, 1, H, W)`` float images.
        mask: bool ``(H, W)`` or ``(N, 1, H, W)``, True where missing.

    Returns:
        float64 ``(N,)``.
    """
    maps = ssim_maps(pred, target)
    m = _full_mask(mask, maps.shape).reshape(len(maps), -1)
    return (maps.reshape(len(maps), -1) * m).sum(axis=1) / m.sum(axis=1)


def evaluate_fill(pred, target, mask) -> dict[str, float]:
    """All metrics of a filled stack, averaged over images.

    Args:
        pred: ``(N, 1, H, W)`` filled images.
        target: ``(N, 1, H, W)`` ground truth.
        mask: bool ``(H, W)`` or ``(N, 1, H, W)``, True where missing.

    Returns:
        ``{"psnr_gaps", "ssim_gaps", "psnr_image", "ssim_image", "mae_gaps"}`` as python
        floats: the mean over images of :func:`masked_psnr`, :func:`masked_ssim`,
        :func:`psnr`, :func:`ssim` and of the mean absolute error over the gaps.
    """
    pred, target = _as_images(pred), _as_images(target)
    m = _full_mask(mask, pred.shape).reshape(len(pred), -1)
    means, maps = _ssim_all(pred, target)
    mae = (np.abs(pred - target).reshape(len(pred), -1) * m).sum(axis=1) / m.sum(axis=1)
    ssim_gaps = (maps.reshape(len(maps), -1) * m).sum(axis=1) / m.sum(axis=1)
    return {
        "psnr_gaps": float(masked_psnr(pred, target, mask).mean()),
        "ssim_gaps": float(ssim_gaps.mean()),
        "psnr_image": float(psnr(pred, target).mean()),
        "ssim_image": float(means.mean()),
        "mae_gaps": float(mae.mean()),
    }


# ---------------------------------------------------------------- inference
@torch.no_grad()
def predict(model: torch.nn.Module, images, mask, *, batch_size: int = 64, device=None) -> np.ndarray:
    """Fill the gaps of ``images`` with an :class:`~mri_inpaint.model.InpaintNet`.

    The model runs in eval mode (its previous mode is restored afterwards) under
    ``torch.no_grad``, in batches, on its own device (``next(model.parameters()).device``)
    and in its parameter dtype.

    Args:
        model: an ``InpaintNet`` (``model(image, mask) -> filled``).
        images: ``(N, 1, H, W)`` corrupted (or clean: gaps are zeroed by the model) images.
        mask: bool ``(H, W)`` shared by all images, or ``(N, 1, H, W)``; True where missing.
        batch_size: images per forward pass.
        device: if given, the model is moved there first (in place); default: its device.

    Returns:
        float32 ``(N, 1, H, W)``; observed pixels equal ``images`` (cast to float32).
    """
    if device is not None:
        model.to(device)
    param = next(model.parameters())
    dev, dtype = param.device, param.dtype
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, None]
    mask = np.asarray(mask).astype(bool)
    per_image = mask.ndim == 4
    if per_image and mask.shape[0] != images.shape[0]:
        raise ValueError(f"mask {mask.shape} does not match images {images.shape}")
    shared = None if per_image else torch.from_numpy(mask).to(dev)
    was_training = model.training
    model.eval()
    try:
        out = []
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size])).to(dev, dtype)
            m = torch.from_numpy(mask[start:start + batch_size]).to(dev) if per_image else shared
            out.append(model(x, m).float().cpu().numpy())
    finally:
        model.train(was_training)
    if not out:
        return np.zeros(images.shape, dtype=np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)


# ---------------------------------------------------------------- self-ensemble
@dataclass(frozen=True)
class Transform:
    """An invertible geometric transform acting on the last two axes of an array."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]


def _roll(shift: int, axis: int) -> Transform:
    kind = "hroll" if axis == -1 else "vroll"
    return Transform(f"{kind}{shift}",
                     lambda x: np.roll(x, shift, axis=axis),
                     lambda x: np.roll(x, -shift, axis=axis))


def candidate_transforms(shape: tuple[int, int]) -> list[Transform]:
    """Transforms that might map a stripe mask of ``shape = (H, W)`` onto itself.

    Identity, vertical flip, horizontal flip, 180-degree rotation, horizontal rolls by
    multiples of 4 pixels (the stripe period) and vertical rolls by every row offset.
    Rolls wrap around (``np.roll``).

    Returns:
        list of :class:`Transform`, identity first.
    """
    H, W = shape
    flip_v = lambda x: x[..., ::-1, :]  # noqa: E731
    flip_h = lambda x: x[..., :, ::-1]  # noqa: E731
    rot = lambda x: x[..., ::-1, ::-1]  # noqa: E731
    ident = lambda x: x  # noqa: E731
    out = [Transform("identity", ident, ident), Transform("vflip", flip_v, flip_v),
           Transform("hflip", flip_h, flip_h), Transform("rot180", rot, rot)]
    out += [_roll(k, -1) for k in range(4, W, 4)]
    out += [_roll(r, -2) for r in range(1, H)]
    return out


def mask_symmetries(mask, candidates: list[Transform] | None = None) -> list[Transform]:
    """The candidate transforms that map ``mask`` exactly onto itself.

    Args:
        mask: bool ``(H, W)`` or ``(N, 1, H, W)``, True where missing.
        candidates: transforms to test (default :func:`candidate_transforms`).

    Returns:
        list of :class:`Transform` with ``transform(mask) == mask`` on the full array
        (rolls compared after wrap-around); the identity always comes first.
    """
    mask = np.asarray(mask).astype(bool)
    if candidates is None:
        candidates = candidate_transforms(mask.shape[-2:])
    ident = Transform("identity", lambda x: x, lambda x: x)
    kept = [t for t in candidates if t.name != "identity" and np.array_equal(t.forward(mask), mask)]
    return [ident] + kept


def self_ensemble_predict(model: torch.nn.Module, images, mask, *,
                          candidates: list[Transform] | None = None,
                          batch_size: int = 64, device=None) -> tuple[np.ndarray, list[str]]:
    """Test-time self-ensemble: average predictions over mask-preserving transforms.

    For each transform ``T`` with ``T(mask) == mask`` (see :func:`mask_symmetries`) the
    model fills ``T(images)``; the result is mapped back with ``T^-1`` and all are
    averaged; observed pixels are then put back (hard data consistency). Since the
    slanted stripes have period about 4, usually only the identity qualifies, and the
    result then equals :func:`predict`. Rolls wrap the image around, which creates a
    seam the model never saw in training.

    Args:
        model: an ``InpaintNet``.
        images: ``(N, 1, H, W)`` corrupted images.
        mask: bool ``(H, W)`` or ``(N, 1, H, W)``, True where missing.
        candidates: transforms to consider (default :func:`candidate_transforms`).
        batch_size, device: as in :func:`predict`.

    Returns:
        ``(filled, names)``: float32 ``(N, 1, H, W)`` and the names of the transforms
        used, ``"identity"`` first.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, None]
    mask = np.asarray(mask).astype(bool)
    transforms = mask_symmetries(mask, candidates)
    if len(transforms) == 1:
        return predict(model, images, mask, batch_size=batch_size, device=device), ["identity"]
    total = None
    for t in transforms:
        x = np.ascontiguousarray(t.forward(images))
        pred = predict(model, x, mask, batch_size=batch_size, device=device)
        back = t.inverse(pred).astype(np.float64)
        total = back if total is None else total + back
    avg = (total / len(transforms)).astype(np.float32)
    filled = np.where(mask, avg, images.astype(np.float32))
    return filled, [t.name for t in transforms]


# ---------------------------------------------------------------- comparison
def default_methods(model: torch.nn.Module | None = None, mask=None) -> dict[str, FillFn]:
    """The methods compared in the report, in table order.

    Args:
        model: a trained ``InpaintNet``, or None for the classical baselines only.
        mask: the mask to be filled; with a model, "U-Net + self-ensemble" is added only
            if some non-identity transform preserves it (see :func:`mask_symmetries`).

    Returns:
        ``{name: fn(corrupted, mask) -> filled}``: "zero fill", "row-wise linear",
        "biharmonic", then "U-Net (ours)" and maybe "U-Net + self-ensemble".
    """
    methods: dict[str, FillFn] = {
        "zero fill": zero_fill,
        "row-wise linear": row_interpolate_np,
        "biharmonic": biharmonic,
    }
    if model is not None:
        methods["U-Net (ours)"] = lambda x, m: predict(model, x, m)
        if mask is not None and len(mask_symmetries(mask)) > 1:
            methods["U-Net + self-ensemble"] = lambda x, m: self_ensemble_predict(model, x, m)[0]
    return methods


def compare_methods(images_clean, mask, methods: dict[str, FillFn]) -> list[dict]:
    """Corrupt clean images with ``mask``, fill them with every method and score them.

    Args:
        images_clean: ``(N, 1, H, W)`` ground-truth images in [0, 1].
        mask: bool ``(H, W)``, True where missing.
        methods: ``{name: fn(corrupted, mask) -> filled}``, e.g. :func:`default_methods`.

    Returns:
        one row per method, in order: ``{"method": name, **evaluate_fill(...),
        "seconds": wall-clock time of fn}``.
    """
    images_clean = np.asarray(images_clean)
    mask = np.asarray(mask).astype(bool)
    corrupted = corrupt(images_clean, mask)
    rows = []
    for name, fn in methods.items():
        t0 = time.perf_counter()
        filled = fn(corrupted.copy(), mask)
        elapsed = time.perf_counter() - t0
        rows.append({"method": name, **evaluate_fill(filled, images_clean, mask), "seconds": elapsed})
    return rows


def format_table(rows: list[dict]) -> str:
    """Markdown table of :func:`compare_methods` rows.

    Args:
        rows: dicts with ``method``, ``psnr_gaps``, ``ssim_gaps``, ``psnr_image``,
            ``ssim_image``, ``mae_gaps`` and ``seconds``.

    Returns:
        the table as a string (PSNR 2 decimals, SSIM/MAE 4, time 3), no trailing newline.
    """
    lines = ["| Method | PSNR gaps (dB) | SSIM gaps | PSNR image (dB) | SSIM image | MAE gaps | Time (s) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['psnr_gaps']:.2f} | {r['ssim_gaps']:.4f} | "
                     f"{r['psnr_image']:.2f} | {r['ssim_image']:.4f} | {r['mae_gaps']:.4f} | "
                     f"{r['seconds']:.3f} |")
    return "\n".join(lines)
