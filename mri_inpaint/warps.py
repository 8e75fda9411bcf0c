"""Random draws, smooth fields and small warps, for the embedded source and for augmenting generated images."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def uniform_draws(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    """``n`` values drawn uniformly from ``[lo, hi)``."""
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def smooth_field(gen: torch.Generator, n: int, chans: int, knots: int, size: int) -> torch.Tensor:
    """Random smooth field ``(n, chans, size, size)`` in about [-1, 1] (bicubic from a coarse grid)."""
    coarse = torch.rand(n, chans, knots, knots, generator=gen) * 2 - 1
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)



def random_warp_grids(n: int, size: int, gen: torch.Generator, *, rotation_deg: float = 4.0,
                      scale: float = 0.05, shift_px: float = 2.0, elastic_px: float = 1.5) -> torch.Tensor:
    """Sampling grids ``(n, size, size, 2)`` of small random warps: rotation, zoom, translation, elastic.

    The augmented copies of generated images (:func:`~mri_inpaint.generation.augment_to`) use
    them with :func:`torch.nn.functional.grid_sample`.
    """
    ang = uniform_draws(gen, n, -rotation_deg, rotation_deg) * torch.pi / 180
    zoom = uniform_draws(gen, n, 1 - scale, 1 + scale)
    tx, ty = (uniform_draws(gen, n, -shift_px, shift_px) * 2 / size for _ in range(2))
    cos, sin = torch.cos(ang) / zoom, torch.sin(ang) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=False)
    return grid + smooth_field(gen, n, 2, 5, size).permute(0, 2, 3, 1) * elastic_px * 2 / size
