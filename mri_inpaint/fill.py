"""Fill the gaps of corrupted images with a trained network, verify the result, write it safely."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

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
    """Check a filled stack against its input; raise ValueError saying what is wrong.

    Checks: same shape, float32, finite, in [0, 1], observed pixels bit-identical.
    """
    if filled.shape != corrupted.shape:
        raise ValueError(f"filled images have shape {filled.shape}, input has {corrupted.shape}")
    if filled.dtype != np.float32:
        raise ValueError(f"filled images are {filled.dtype}, expected float32")
    if not np.isfinite(filled).all():
        raise ValueError("filled images contain NaN or inf")
    if filled.min() < 0 or filled.max() > 1:
        raise ValueError(f"filled images leave [0, 1]: min {filled.min()}, max {filled.max()}")
    observed = ~np.broadcast_to(mask, filled.shape)
    if not np.array_equal(filled[observed], corrupted[observed]):
        raise ValueError("observed pixels changed while filling: data consistency is broken")


def check_output(path: Path | str, *, overwrite: bool = True, flag: str = "--output", suffix: str = ".npy") -> Path:
    """Check, before any work, that ``path`` can be written as a new or replaced ``suffix`` file.

    A symbolic link is refused rather than followed or replaced (a dangling link would
    otherwise become a file, a live one would write somewhere unexpected).

    Args:
        flag: the option that named ``path``, for the messages.
        suffix: the file type expected.

    Raises:
        ValueError: wrong suffix, a directory, a symbolic link, or a parent that is a file.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        PermissionError: its folder cannot be written.
    """
    path = Path(path)
    if path.suffix != suffix:
        raise ValueError(f"output {path} must end in {suffix}: choose another {flag}")
    if path.is_symlink():
        raise ValueError(f"output {path} is a symbolic link (to {os.readlink(path)}): links are not followed "
                         f"or replaced; pass the real file as {flag}")
    if path.is_dir():
        raise ValueError(f"output {path} is a directory: pass a file path ending in {suffix} as {flag}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: pass --overwrite to replace it, or choose another {flag}")
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"output {path} lies under {folder}, which is a file, not a folder: choose another {flag}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write into {folder} (permission denied or read-only): "
                              f"choose another {flag}")
    return path


def write_filled(path: Path | str, filled: np.ndarray, corrupted: np.ndarray, mask: np.ndarray, *,
                 input_path: Path | str | None = None, overwrite: bool = True) -> Path:
    """Verify, write to a temporary file, reload and verify it, then rename it onto ``path``.

    Args:
        path: output ``.npy``.
        filled: float32 ``(N, 1, H, W)`` (or the input's ``(N, H, W)`` shape).
        corrupted: the input images, same shape.
        mask: bool ``(H, W)``, True where missing.
        input_path: the input file; writing onto it is refused.
        overwrite: allow replacing an existing output file.

    Raises:
        ValueError: the output would replace the input, fails verification, or fails
            :func:`check_output`.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if input_path is not None and path.resolve() == Path(input_path).resolve():
        raise ValueError(f"refusing to overwrite the input {input_path}: choose another --output")
    check_output(path, overwrite=overwrite)
    verify_filled(filled, corrupted, mask)

    def _write_and_check(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, filled, allow_pickle=False)
        # Re-read the temporary file before it replaces anything: a bad write never lands.
        verify_filled(np.load(tmp, allow_pickle=False), corrupted, mask)
    return atomic_write(path, _write_and_check)
