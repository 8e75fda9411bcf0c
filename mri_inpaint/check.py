"""The label-free check: score any fill method on the real test images, which have no labels.

Half of a test image's pixels are observed in a known pattern. Translating the stripe
mask by half a period (2 px) turns observed pixels into gaps: each test image is filled,
the fill is re-masked with the shifted mask and filled again, and the second fill is
scored on the hidden pixels whose true values are known.
"""
from __future__ import annotations

import numpy as np

from .evaluate import FillFn
from .fill import predict
from .masks import shift_mask
from .metrics import psnr_from_mse

#: Mask translation (dy, dx) of the label-free check: half a stripe period.
CHECK_SHIFT = (0, 2)


def check_with(fill_fn, images: np.ndarray, mask: np.ndarray, *, shift: tuple[int, int] = CHECK_SHIFT) -> dict:
    """Label-free check of any fill method ``fill_fn(corrupted, mask) -> filled``.

    Args:
        images: real corrupted images ``(N, 1, H, W)``; ``mask`` bool ``(H, W)``.
        shift: translation ``(dy, dx)`` of the mask that hides observed pixels.

    Returns:
        dict with ``psnr`` (mean per-image PSNR, dB), ``mae`` on the hidden observed
        pixels, and ``hidden_pixels`` (how many per image).
    """
    first = fill_fn(images, mask)
    shifted = shift_mask(mask, dx=shift[1], dy=shift[0])
    hidden = shifted & ~mask  # observed pixels (true values known) that the shifted mask hides
    second = fill_fn(np.where(shifted, 0, first).astype(np.float32), shifted)
    err = (second - images)[:, 0][:, hidden]
    return {"psnr": float(psnr_from_mse((err ** 2).mean(axis=1)).mean()), "mae": float(np.abs(err).mean()),
            "hidden_pixels": int(hidden.sum()), "shift": list(shift)}


def real_image_check(model, images: np.ndarray, mask: np.ndarray, *, shift=CHECK_SHIFT) -> dict:
    """:func:`check_with` for a trained network."""
    return check_with(lambda x, m: predict(model, x, m), images, mask, shift=shift)


def check_methods(images, mask, methods: dict[str, FillFn]) -> list[dict]:
    """The label-free check (:func:`check_with`) of every method on real images (zero fill skipped)."""
    return [{"method": name, **check_with(fn, images, mask)} for name, fn in methods.items()
            if name != "zero fill"]


def format_check_table(rows: list[dict]) -> str:
    """Markdown table of :func:`check_methods` rows."""
    lines = ["| Method | PSNR on hidden observed pixels (dB) | MAE |", "|---|---:|---:|"]
    lines += [f"| {r['method']} | {r['psnr']:.2f} | {r['mae']:.4f} |" for r in rows]
    return "\n".join(lines)
