"""Fill the gaps of corrupted images with a trained network, verify the result, write it safely."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .paths import require_writable
from .utils import atomic_write


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


def verify_filled(filled: np.ndarray, corrupted: np.ndarray, mask: np.ndarray) -> None:
    """Verify a filled stack against its input; raise ValueError saying what is wrong.

    Verifies: same shape, the input's dtype (float32 for the network's own), finite, in [0, 1],
    observed pixels bit-identical.
    """
    if filled.shape != corrupted.shape:
        raise ValueError(f"filled images have shape {filled.shape}, input has {corrupted.shape}")
    if filled.dtype != corrupted.dtype:
        raise ValueError(f"filled images are {filled.dtype}, the input is {corrupted.dtype}")
    if not np.isfinite(filled).all():
        raise ValueError("filled images contain NaN or inf")
    if filled.min() < 0 or filled.max() > 1:
        raise ValueError(f"filled images leave [0, 1]: min {filled.min()}, max {filled.max()}")
    observed = ~np.broadcast_to(mask, filled.shape)
    if not np.array_equal(filled[observed], corrupted[observed]):
        raise ValueError("observed pixels changed while filling: data consistency is broken")


def require_output_path(path: Path | str, *, overwrite: bool = True, flag: str = "--output", suffix: str = ".npy",
                        inputs: dict | None = None, deliverable_ok: bool = False) -> Path:
    """Refuse, before any work, a ``path`` that cannot be written (:func:`~mri_inpaint.paths.require_writable`).

    A symbolic link is refused rather than followed or replaced; the deliverable and the
    command's ``inputs`` (``{flag: path}``) are never written unless ``deliverable_ok``.

    Raises:
        ValueError: wrong suffix, a directory, a symbolic link, a parent that is a file, an
            input of the command or the deliverable.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        PermissionError: its folder cannot be written.
    """
    return require_writable(path, flag=flag, suffix=suffix, overwrite=overwrite, inputs=inputs,
                            deliverable_ok=deliverable_ok)


def write_filled(path: Path | str, filled: np.ndarray, corrupted: np.ndarray, mask: np.ndarray, *,
                 input_path: Path | str | None = None, overwrite: bool = True, deliverable_ok: bool = False,
                 inputs: dict | None = None) -> Path:
    """Verify, write to a temporary file, reload and verify it, then rename it onto ``path``.

    Args:
        path: output ``.npy``.
        filled: float32 ``(N, 1, H, W)`` (or the input's ``(N, H, W)`` shape).
        corrupted: the input images, same shape.
        mask: bool ``(H, W)``, True where missing.
        input_path: the input file; writing onto it is refused.
        overwrite: allow replacing an existing output file.
        deliverable_ok: ``path`` may be the deliverable (a final preset's ``run`` only).

    Raises:
        ValueError: the output would replace the input, fails verification, or fails
            :func:`require_output_path`.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    require_output_path(path, overwrite=overwrite, deliverable_ok=deliverable_ok,
                        inputs={"input": input_path, **(inputs or {})})
    verify_filled(filled, corrupted, mask)

    def _write_and_verify(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, filled, allow_pickle=False)
        # Re-read the temporary file before it replaces anything: a bad write never lands.
        verify_filled(np.load(tmp, allow_pickle=False), corrupted, mask)
    return atomic_write(path, _write_and_verify)
