"""Classical gap-filling baselines: row-wise linear interpolation and biharmonic inpainting."""
from __future__ import annotations

import numpy as np
import torch


def row_interpolate(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill missing pixels by linear interpolation between the nearest observed pixels of each row.

    Pixels with an observed neighbour on one side only copy it; rows with no observed
    pixel stay 0.

    Args:
        image: ``(N, 1, H, W)`` corrupted images.
        mask: ``(N, 1, H, W)`` or ``(H, W)``, True/1 where missing.

    Returns:
        ``(N, 1, H, W)``, observed pixels unchanged.
    """
    mask = torch.as_tensor(mask, device=image.device).bool().expand_as(image)
    W = image.shape[-1]
    cols = torch.arange(W, device=image.device).expand_as(image)
    left = torch.where(mask, torch.full_like(cols, -1), cols).cummax(dim=-1).values
    right = torch.where(mask, torch.full_like(cols, W), cols).flip(-1).cummin(dim=-1).values.flip(-1)
    has_left, has_right = left >= 0, right < W
    v_left = image.gather(-1, left.clamp(min=0))
    v_right = image.gather(-1, right.clamp(max=W - 1))
    span = (right - left).clamp(min=1).to(image.dtype)
    w = (cols - left).to(image.dtype) / span
    both = v_left + w * (v_right - v_left)
    filled = torch.where(has_left & has_right, both,
                         torch.where(has_left, v_left, torch.where(has_right, v_right, torch.zeros_like(image))))
    return torch.where(mask, filled, image)


def row_interpolate_np(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """NumPy wrapper of :func:`row_interpolate` for ``(N, 1, H, W)`` float arrays."""
    return row_interpolate(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(mask)).numpy()


def biharmonic(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Biharmonic inpainting (scikit-image ``inpaint_biharmonic``) of ``(N, 1, H, W)`` images."""
    from skimage.restoration import inpaint_biharmonic

    out = np.empty_like(images)
    for i, img in enumerate(images):
        out[i, 0] = inpaint_biharmonic(img[0], mask)
    out = np.where(mask, np.clip(out, 0, 1), images)
    return out.astype(images.dtype)


def zero_fill(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The corrupted input itself: missing pixels stay 0."""
    return np.where(mask, 0, images).astype(images.dtype)
