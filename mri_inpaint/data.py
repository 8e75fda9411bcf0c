"""Locate, load and validate the coursework test set and optional mask files.

The test set is a ``.npy`` array of corrupted, min-max normalised head-MRI images:
float ``(N, 1, 64, 64)`` (or ``(N, 64, 64)``) in ``[0, 1]``, with the missing stripes
set to exactly 0. A mask is bool ``(64, 64)``, True where a pixel is missing
(see :mod:`mri_inpaint.masks`).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .masks import MIN_IMAGES_FOR_MASK, validate_mask

logger = logging.getLogger(__name__)

#: Environment variable that may hold the path of the test set.
DEFAULT_TEST_SET_ENV = "MRI_TEST_SET"
#: Name of the test-set file searched for in the working folder and in ``../shared``.
TEST_SET_NAME = "test_set.npy"
#: Height and width of every image.
from .config import IMAGE_SIZE  # noqa: E402

_NPY_MAGIC = b"\x93NUMPY"  # first 6 bytes of every .npy file (numpy.lib.format)


# ---------------------------------------------------------------- locating
def find_test_set(explicit: Path | str | None = None, *, cwd: Path | None = None) -> Path:
    """Find the test-set file.

    Looks, in order, at ``explicit``, the ``$MRI_TEST_SET`` environment variable,
    ``./test_set.npy`` and ``../shared/test_set.npy`` from ``cwd``, then the same two
    from the project folder (:func:`~mri_inpaint.paths.project_root`); relative paths
    are taken from ``cwd``. An explicit path or a set environment variable must name an existing
    file: a mistake there is reported rather than silently replaced by a fallback.

    Args:
        explicit: path given by the user (e.g. ``--test-set``), or None to search.
        cwd: folder that relative paths start from (default: the current directory).

    Returns:
        Path of the first existing candidate.

    Raises:
        FileNotFoundError: ``explicit`` or ``$MRI_TEST_SET`` names a missing file, or
            no candidate exists (the message lists every place searched).
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)

    if explicit is not None:
        path = cwd / Path(explicit).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"test set {str(explicit)!r} not found (looked at {path}); "
                "verify the path passed with --test-set")
        return path

    looked = []
    env_value = os.environ.get(DEFAULT_TEST_SET_ENV, "")
    if env_value:
        path = cwd / Path(env_value).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"${DEFAULT_TEST_SET_ENV} is set to {env_value!r}, but {path} does not exist; "
                f"fix or unset {DEFAULT_TEST_SET_ENV}, or pass --test-set PATH")
        logger.info("using test set from $%s: %s", DEFAULT_TEST_SET_ENV, path)
        return path
    looked.append(f"${DEFAULT_TEST_SET_ENV} (not set)")

    from . import paths

    candidates = []
    for folder in (cwd, paths.project_root()):
        for path in (folder / TEST_SET_NAME, folder.parent / "shared" / TEST_SET_NAME):
            if path.resolve() not in [c.resolve() for c in candidates]:
                candidates.append(path)
    for path in candidates:
        if path.is_file():
            logger.info("using test set %s", path)
            return path
        looked.append(str(path))

    places = "\n  ".join(looked)
    raise FileNotFoundError(
        f"no test set found; looked at:\n  {places}\n"
        f"Pass --test-set PATH, set {DEFAULT_TEST_SET_ENV}=PATH, or copy the coursework's "
        f"{TEST_SET_NAME} into the project folder ({cwd}).")


# ---------------------------------------------------------------- loading
def _load_npy(path: Path | str, what: str) -> np.ndarray:
    """Load a plain (non-pickled) ``.npy`` array, raising clear errors naming ``what``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {path} not found; verify the path")
    if not path.is_file():
        raise ValueError(f"{what} path {path} is a directory, expected a .npy file")
    if path.suffix.lower() != ".npy":
        raise ValueError(
            f"{what} file {path} has suffix {path.suffix!r}, expected a .npy file "
            "(save the array with numpy.save)")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"cannot read {what} file {path}: permission denied; fix its permissions")
    with open(path, "rb") as fh:
        head = fh.read(len(_NPY_MAGIC))
    if head != _NPY_MAGIC:
        raise ValueError(
            f"{what} file {path} is not a valid .npy file (starts with {head!r}, expected "
            f"{_NPY_MAGIC!r}); re-save the array with numpy.save")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise ValueError(
                f"{what} file {path} holds a pickled object array, expected a plain numeric "
                "array; convert it, e.g. np.save(path, np.asarray(arr, dtype=np.float32))") from err
        raise ValueError(f"{what} file {path} is a corrupt .npy file ({err}); re-save it with numpy.save") from err
    except (OSError, EOFError) as err:
        raise ValueError(f"{what} file {path} is a corrupt .npy file ({err}); re-save it with numpy.save") from err


def load_test_set(path: Path | str, *, require_mask_inference: bool = True, keep_dtype: bool = False) -> np.ndarray:
    """Load and validate the test set.

    Args:
        path: ``.npy`` file holding float16/32/64 images ``(N, 1, 64, 64)`` or
            ``(N, 64, 64)``, min-max normalised to ``[0, 1]``, missing pixels 0.
        require_mask_inference: demand at least
            :data:`~mri_inpaint.masks.MIN_IMAGES_FOR_MASK` images so that
            :func:`~mri_inpaint.masks.infer_mask` can run; pass False when an
            explicit mask file is supplied.
        keep_dtype: return the file's own float dtype (the fill keeps its observed pixels
            bit-identical in it) instead of float32.

    Returns:
        float32 (or, with ``keep_dtype``, the file's dtype) array ``(N, 1, 64, 64)`` in ``[0, 1]``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a valid ``.npy``, pickled, wrong shape, non-float dtype,
            NaN/inf, values outside ``[0, 1]``, empty, or too few images.
    """
    path = Path(path)
    images = _load_npy(path, "test set")
    expected = f"(N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}) or (N, {IMAGE_SIZE}, {IMAGE_SIZE})"

    if images.size == 0:
        raise ValueError(
            f"test set {path} is empty (shape {images.shape}), expected {expected} with N >= 1; "
            "make sure the right file was saved")
    hw = (IMAGE_SIZE, IMAGE_SIZE)
    if images.ndim == 4 and images.shape[1:] == (1, *hw):
        pass
    elif images.ndim == 3 and images.shape[1:] == hw:
        images = images[:, None]
    else:
        raise ValueError(
            f"test set {path} has shape {images.shape}, expected {expected}: "
            f"single-channel {IMAGE_SIZE}x{IMAGE_SIZE} images")

    if not np.issubdtype(images.dtype, np.floating):
        hint = ("convert it with per-image min-max normalisation to float32 in [0, 1]"
                if images.dtype.kind in "biu" else "save it as float32 images in [0, 1]")
        raise ValueError(
            f"test set {path} has dtype {images.dtype}, expected float16/float32/float64; {hint}")

    bad = int(np.count_nonzero(~np.isfinite(images)))
    if bad:
        raise ValueError(
            f"test set {path} contains {bad} NaN/inf value(s) out of {images.size}, expected "
            "finite values in [0, 1]; fix or drop the affected images")

    lo, hi = float(images.min()), float(images.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"test set {path} has values in [{lo:g}, {hi:g}], expected [0, 1]: each image "
            "must be min-max normalised to [0, 1], (x - x.min()) / (x.max() - x.min())")

    n = images.shape[0]
    if require_mask_inference and n < MIN_IMAGES_FOR_MASK:
        raise ValueError(
            f"test set {path} has {n} image(s), but inferring the missing-pixel mask needs at "
            f"least {MIN_IMAGES_FOR_MASK}; add images or pass the mask explicitly "
            "(--mask MASK.npy, a bool (64, 64) array, True = missing)")

    logger.info("loaded test set %s: %d images", path, n)
    return images if keep_dtype else images.astype(np.float32, copy=False)


def load_mask(path: Path | str) -> np.ndarray:
    """Load and validate a missing-pixel mask.

    Args:
        path: ``.npy`` file holding a bool or 0/1 array of shape ``(64, 64)`` or
            ``(1, 1, 64, 64)``; True/1 = missing.

    Returns:
        bool array ``(64, 64)``, True where missing.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a valid ``.npy``, pickled, wrong shape, or values other than 0/1.
    """
    path = Path(path)
    mask = _load_npy(path, "mask")
    try:
        mask = validate_mask(mask, (IMAGE_SIZE, IMAGE_SIZE))
    except ValueError as err:
        raise ValueError(
            f"mask file {path}: {err}; save a bool (64, 64) array, True = missing") from err
    require_useful_mask(mask, f"mask file {path}")
    return mask


#: Share of pixels on which a mask may differ from the coursework's stripes before a warning.
MASK_WARN_DIFFERENCE = 0.1


def require_useful_mask(mask: np.ndarray, what: str = "mask") -> None:
    """Refuse a mask that fills nothing or keeps nothing; warn if it is far from the test images'.

    Args:
        mask: bool ``(64, 64)``, True = missing.
        what: how to name the mask in messages.

    Raises:
        ValueError: no pixel is missing (nothing to fill) or every pixel is (nothing to fill from).
    """
    from .masks import DEFAULT_STRIPES, stripe_mask

    if not mask.any():
        raise ValueError(f"{what} marks no pixel as missing: there is nothing to fill "
                         "(True = missing; was the mask inverted?)")
    if mask.all():
        raise ValueError(f"{what} marks every pixel as missing: no observed pixel is left to fill from "
                         "(True = missing; was the mask inverted?)")
    differ = float((mask != stripe_mask(DEFAULT_STRIPES)).mean())
    if differ > MASK_WARN_DIFFERENCE:
        logger.warning("%s differs from the test images' stripe mask on %.0f%% of pixels: the networks were "
                       "trained for that mask, so expect poorer fills", what, 100 * differ)


def require_shared_mask(images: np.ndarray, mask: np.ndarray, what: str = "test set") -> None:
    """Refuse a stack whose images do not all share ``mask`` (the inferred, majority one).

    A missing pixel is exactly 0 in every corrupted image, so an image with a nonzero pixel
    where the mask says missing has another mask: filling it with this one would leave its
    own gaps at 0.

    Raises:
        ValueError: naming how many images and pixels disagree.
    """
    stack = np.asarray(images).reshape(len(images), -1)[:, np.asarray(mask).reshape(-1)]
    off = np.count_nonzero(stack, axis=1)
    bad = int(np.count_nonzero(off))
    if bad:
        raise ValueError(f"{what}: {bad} of {len(stack)} images have another mask ({int(off.sum())} pixels are "
                         "not 0 where the shared mask says missing); fill images that share one mask together, "
                         "or pass the right one with --mask")


# ---------------------------------------------------------------- summary
def describe_test_set(images: np.ndarray, mask: np.ndarray) -> dict:
    """Summarise a test set and its mask.

    Args:
        images: float ``(N, 1, H, W)`` or ``(N, H, W)``.
        mask: bool ``(H, W)``, True where missing.

    Returns:
        dict with ``count`` (N), ``shape``, ``dtype``, ``observed_min``/``_max``/
        ``_mean``/``_std`` (over the observed pixels of all images; NaN if none),
        ``missing_pixels`` (per image) and ``missing_fraction`` (in ``[0, 1]``).
    """
    images = np.asarray(images)
    mask = validate_mask(mask, images.shape[-2:])
    observed = images[..., ~mask].astype(np.float64)
    stats = ((float(observed.min()), float(observed.max()), float(observed.mean()), float(observed.std()))
             if observed.size else (float("nan"),) * 4)
    return {
        "count": int(images.shape[0]),
        "shape": tuple(int(s) for s in images.shape),
        "dtype": str(images.dtype),
        "observed_min": stats[0],
        "observed_max": stats[1],
        "observed_mean": stats[2],
        "observed_std": stats[3],
        "missing_pixels": int(mask.sum()),
        "missing_fraction": float(mask.mean()),
    }
