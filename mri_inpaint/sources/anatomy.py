"""Embedded training-image source: augmented sagittal slices of a real head (Colin27).

Each image is a random sagittal slice of the embedded asset (see ``build_anatomy.py``),
interpolated between neighbouring slices, warped by a random affine and a smooth
elastic field, given a random monotone intensity curve and bias field, blurred, noised,
area-downsampled to 64x64 and min-max normalised - all in batched PyTorch ops.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .base import IMAGE_SIZE, minmax_normalise

#: The embedded asset, rebuilt by ``python -m mri_inpaint.sources.build_anatomy``.
ASSET_PATH = Path(__file__).with_name("assets") / "colin27_sagittal.npz"


@dataclass(frozen=True)
class AnatomyParams:
    """Variation of the embedded source; defaults matched to the test images' observed pixels."""

    max_lateral_mm: float = 55.0  #: sagittal positions drawn uniformly within +-this of the midline
    rotation_deg: float = 5.0  #: in-plane rotation drawn from +-this
    scale_range: tuple[float, float] = (0.99, 1.13)  #: zoom (>1 enlarges the head)
    aspect_jitter: float = 0.04  #: independent vertical/horizontal scale jitter (fraction)
    shift_frac: float = 0.025  #: translation, fraction of the frame
    elastic_frac: float = 0.025  #: elastic displacement amplitude, fraction of the frame
    gamma_range: tuple[float, float] = (0.95, 1.45)  #: intensity gamma
    curve_jitter: float = 0.06  #: extra random monotone intensity-curve deviation
    bias_field: float = 0.15  #: multiplicative smooth bias amplitude
    blur_sigma_range: tuple[float, float] = (0.0, 0.2)  #: Gaussian blur at 64 px (pixels)
    noise_range: tuple[float, float] = (0.005, 0.03)  #: additive Gaussian noise std (after scaling to [0,1])


@lru_cache(maxsize=2)
def _load_asset(path: str) -> tuple[torch.Tensor, float]:
    if not Path(path).exists():
        raise FileNotFoundError(
            f"embedded anatomy asset {path} is missing: reinstall the package, or rebuild it with "
            "`apt-get install mricron-data && python -m mri_inpaint.sources.build_anatomy`")
    with np.load(path, allow_pickle=False) as z:
        slices = torch.from_numpy(z["slices"].astype(np.float32) / 255.0)
        extent = float(z["store_extent"])
    return slices, extent


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _smooth_field(gen: torch.Generator, n: int, chans: int, knots: int, size: int) -> torch.Tensor:
    """Random smooth field ``(n, chans, size, size)`` in about [-1, 1] (bicubic from a coarse grid)."""
    coarse = torch.rand(n, chans, knots, knots, generator=gen) * 2 - 1
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)


def _gaussian_blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-image isotropic Gaussian blur; ``sigma`` ``(N,)`` in pixels (0 leaves the image)."""
    radius = 3
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    s = sigma.clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (x[None] / s) ** 2)
    k = k / k.sum(dim=1, keepdim=True)  # (N, 7)
    n = images.shape[0]
    flat = images.reshape(1, n, *images.shape[-2:])
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), k[:, None, None, :], groups=n)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), k[:, None, :, None], groups=n)
    return flat.reshape(images.shape)


class AnatomySource:
    """Realistic whole-head sagittal slices from the embedded Colin27 asset.

    Args:
        params: variation settings (:class:`AnatomyParams`).
        asset: path of the ``.npz`` asset.
    """

    name = "anatomy"

    def __init__(self, params: AnatomyParams | None = None, *, asset: Path | str = ASSET_PATH):
        self.settings = params or AnatomyParams()
        self.asset = Path(asset)

    def params(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.settings).items()}

    def sample(self, n: int, seed: int, *, batch_size: int = 512) -> np.ndarray:
        """Return ``n`` images, float32 ``(n, 1, 64, 64)`` in [0, 1]; deterministic in ``(n, seed)``."""
        if n < 0:
            raise ValueError(f"number of images must be >= 0, got {n}")
        gen = torch.Generator().manual_seed(int(seed))
        out = [self._batch(gen, min(batch_size, n - i)) for i in range(0, n, batch_size)]
        if not out:
            return np.zeros((0, 1, IMAGE_SIZE, IMAGE_SIZE), np.float32)
        return minmax_normalise(torch.cat(out).numpy())

    @torch.no_grad()
    def _batch(self, gen: torch.Generator, n: int) -> torch.Tensor:
        p = self.settings
        slices, extent = _load_asset(str(self.asset))
        num_slices = slices.shape[0]
        mid = (num_slices - 1) / 2
        # Sagittal position, linearly interpolated between stored 1 mm slices.
        pos = mid + _uniform(gen, n, -p.max_lateral_mm, p.max_lateral_mm)
        lo = pos.floor().long().clamp(0, num_slices - 1)
        hi = (lo + 1).clamp(max=num_slices - 1)
        w = (pos - lo.float())[:, None, None]
        src = ((1 - w) * slices[lo] + w * slices[hi])[:, None]  # (n,1,S,S)

        # Affine: output frame [-1,1] -> asset coordinates (the frame is 1/extent of the asset).
        ang = _uniform(gen, n, -p.rotation_deg, p.rotation_deg) * math.pi / 180
        zoom = _uniform(gen, n, *p.scale_range)
        sx = zoom * (1 + _uniform(gen, n, -p.aspect_jitter, p.aspect_jitter))
        sy = zoom * (1 + _uniform(gen, n, -p.aspect_jitter, p.aspect_jitter))
        tx = _uniform(gen, n, -p.shift_frac, p.shift_frac) * 2
        ty = _uniform(gen, n, -p.shift_frac, p.shift_frac) * 2
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.stack([
            torch.stack([cos / sx, -sin / sx, tx], 1),
            torch.stack([sin / sy, cos / sy, ty], 1),
        ], 1) / extent  # frame units -> asset units
        hi_res = 2 * IMAGE_SIZE  # render at 2x, then area-downsample (anti-aliasing)
        grid = F.affine_grid(theta, (n, 1, hi_res, hi_res), align_corners=False)
        grid = grid + p.elastic_frac * 2 / extent * _smooth_field(gen, n, 2, 5, hi_res).permute(0, 2, 3, 1)
        img = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        img = F.avg_pool2d(img, 2)  # (n,1,64,64)

        # Intensity: gamma, a random monotone curve, then a smooth multiplicative bias field.
        gamma = torch.exp(_uniform(gen, n, math.log(p.gamma_range[0]), math.log(p.gamma_range[1])))
        img = img.clamp(0, 1) ** gamma[:, None, None, None]
        knots = torch.linspace(0, 1, 6)
        curve = knots + p.curve_jitter * (torch.rand(n, 6, generator=gen) * 2 - 1)
        curve[:, 0] = 0
        curve = torch.cummax(curve.clamp(0, 1.2), dim=1).values
        pos_k = img.clamp(0, 1) * 5
        idx = pos_k.floor().long().clamp(max=4)
        frac = pos_k - idx
        flat_idx = idx.reshape(n, -1)
        c0 = torch.gather(curve, 1, flat_idx).reshape(img.shape)
        c1 = torch.gather(curve, 1, flat_idx + 1).reshape(img.shape)
        img = c0 + frac * (c1 - c0)
        img = img * (1 + p.bias_field * _smooth_field(gen, n, 1, 3, IMAGE_SIZE))

        img = _gaussian_blur(img, _uniform(gen, n, *p.blur_sigma_range))
        img = img / img.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
        noise = _uniform(gen, n, *p.noise_range)[:, None, None, None]
        img = img + noise * torch.randn(img.shape, generator=gen)
        return img.clamp_min(0)
