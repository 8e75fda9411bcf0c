"""Random draws and smooth random fields for the embedded source's augmentation."""
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

