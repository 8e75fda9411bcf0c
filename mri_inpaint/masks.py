"""The missing-stripe mask: infer it from the test images, describe it parametrically, apply it.

Convention: a mask is a bool array of shape ``(H, W)``, True where a pixel is missing
(to be filled) and False where it is observed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

#: Fewest images :func:`infer_mask` accepts: with one image, true black background
#: would be indistinguishable from a gap.
MIN_IMAGES_FOR_MASK = 2
#: Plausible range of the missing fraction; outside it the inference is rejected.
MISSING_FRACTION_RANGE = (0.2, 0.8)


def infer_mask(images: np.ndarray) -> np.ndarray:
    """Infer the shared missing-pixel mask of a stack of corrupted images.

    A pixel is missing when it is exactly 0 in at least half of the images.

    Args:
        images: float array ``(N, 1, H, W)`` or ``(N, H, W)``.

    Returns:
        bool array ``(H, W)``, True where missing.

    Raises:
        ValueError: too few images, or a missing fraction outside
            :data:`MISSING_FRACTION_RANGE` (pass an explicit mask file instead).
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (N,1,H,W) or (N,H,W), got {images.shape}")
    if images.shape[0] < MIN_IMAGES_FOR_MASK:
        raise ValueError(
            f"mask inference needs at least {MIN_IMAGES_FOR_MASK} images, got {images.shape[0]}; "
            "pass the mask explicitly (--mask MASK.npy, a bool (64,64) array, True = missing)")
    mask = (images == 0).mean(axis=0) >= 0.5
    frac = float(mask.mean())
    lo, hi = MISSING_FRACTION_RANGE
    if not lo <= frac <= hi:
        raise ValueError(
            f"inferred mask has {frac:.1%} missing pixels, outside the plausible range {lo:.0%}-{hi:.0%}: "
            "are these the corrupted images? Otherwise pass the mask explicitly (--mask MASK.npy)")
    return mask


def validate_mask(mask: np.ndarray, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    """Return ``mask`` as a bool ``shape`` array, or raise a ValueError saying what is wrong."""
    mask = np.asarray(mask)
    if mask.ndim == 4 and mask.shape[:2] == (1, 1):
        mask = mask[0, 0]
    if mask.shape != tuple(shape):
        raise ValueError(f"mask must have shape {tuple(shape)}, got {mask.shape}")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must be boolean or contain only 0 and 1 (1 = missing)")
        mask = mask.astype(bool)
    return mask


# ---------------------------------------------------------------- parametric stripes
@dataclass(frozen=True)
class StripeParams:
    """Slanted stripes: pixel ``(r, c)`` is missing when
    ``frac((c + slant * r) / period + phase) >= 1 - width / period``.

    ``exceptions`` lists the flat pixel indices where the real mask departs from that
    ideal pattern, so that :func:`stripe_mask` reproduces an inferred mask exactly.
    """

    period: float  #: horizontal stripe period (pixels)
    width: float  #: width of each missing stripe (pixels)
    slant: float  #: horizontal shift per row (pixels/row); negative leans right going down
    phase: float  #: phase in [0, 1) (fraction of a period)
    shape: tuple[int, int] = (64, 64)
    exceptions: tuple[int, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["exceptions"] = list(self.exceptions)
        return d


def _ideal(period: float, width: float, slant: float, phase, shape) -> np.ndarray:
    """Ideal stripe pattern(s); ``phase`` may be an array to render several at once."""
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
    u = (c + slant * r) / period
    phase = np.asarray(phase, dtype=float)[..., None, None]
    return np.mod(u + phase, 1.0) >= 1.0 - width / period


def stripe_mask(params: StripeParams, *, exact: bool = True) -> np.ndarray:
    """Render the mask described by ``params``.

    Args:
        params: stripe parameters, e.g. from :func:`fit_stripes`.
        exact: apply ``params.exceptions`` (True reproduces the fitted mask bit for bit).

    Returns:
        bool array ``params.shape``, True where missing.
    """
    mask = _ideal(params.period, params.width, params.slant, params.phase, params.shape)
    if exact and params.exceptions:
        flat = mask.reshape(-1)
        flat[list(params.exceptions)] ^= True
    return mask


def _dominant_period(mask: np.ndarray) -> float:
    """Period (pixels) of the strongest horizontal frequency of the mask (its width when it has none)."""
    rows = mask.astype(float) - mask.mean()
    spectrum = np.abs(np.fft.rfft(rows, axis=1)).mean(axis=0)
    spectrum[0] = 0
    k = int(np.argmax(spectrum))
    return mask.shape[1] / k if k else float(mask.shape[1])  # k == 0: constant rows (e.g. horizontal stripes)


def fit_stripes(mask: np.ndarray) -> StripeParams:
    """Describe a stripe mask by period, width, slant and phase (coarse-to-fine grid search).

    Args:
        mask: bool ``(H, W)``, True where missing.

    Returns:
        :class:`StripeParams` whose ideal pattern best matches ``mask``; the pixels it
        gets wrong are kept in ``exceptions`` so the round trip is exact.
    """
    mask = validate_mask(mask, mask.shape)
    p0 = _dominant_period(mask)
    width = round(float(mask.mean()) * p0 * 2) / 2  # nearest half pixel
    phases = np.linspace(0, 1, 48, endpoint=False)
    best = (np.inf, p0, 0.0, 0.0)
    periods = np.linspace(p0 * 0.96, p0 * 1.04, 17)
    slants = np.linspace(-0.5, 0.5, 101)
    for _ in range(3):  # refine the grid around the best point
        for period in periods:
            for slant in slants:
                errs = (_ideal(period, width, slant, phases, mask.shape) != mask).sum(axis=(1, 2))
                i = int(np.argmin(errs))
                if errs[i] < best[0]:
                    best = (errs[i], period, slant, phases[i])
        _, bp, bs, _ = best
        dp, ds = periods[1] - periods[0], slants[1] - slants[0]
        periods = np.linspace(bp - dp, bp + dp, 9)
        slants = np.linspace(bs - ds, bs + ds, 9)
        phases = np.linspace(0, 1, 192, endpoint=False)
    _, period, slant, phase = best
    ideal = _ideal(period, width, slant, phase, mask.shape)
    exceptions = tuple(int(i) for i in np.flatnonzero((ideal != mask).reshape(-1)))
    return StripeParams(float(period), float(width), float(slant), float(phase),
                        tuple(mask.shape), exceptions)


# ---------------------------------------------------------------- applying masks
def corrupt(clean, mask):
    """Zero the missing pixels of ``clean``.

    Args:
        clean: image(s) ``(..., H, W)``, numpy array or torch tensor.
        mask: bool ``(H, W)`` (or broadcastable), True where missing.

    Returns:
        A copy of ``clean`` with missing pixels set to 0, same type and shape.
    """
    if isinstance(clean, torch.Tensor):
        m = torch.as_tensor(mask, device=clean.device, dtype=torch.bool)
        return clean.masked_fill(m, 0.0)
    return np.where(mask, np.zeros((), dtype=np.asarray(clean).dtype), clean)


def shift_mask(mask: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    """Translate a mask by ``(dy, dx)`` pixels with wrap-around (``np.roll``)."""
    return np.roll(np.asarray(mask), shift=(dy, dx), axis=(0, 1))


#: The stripe pattern fitted on the coursework's test set (ideal part only), used to make
#: a demo input when no test set is available.
DEFAULT_STRIPES = StripeParams(period=4.05625, width=2.0, slant=-0.17625, phase=0.234375)
