"""The training loss, restricted to the pixels a weight map selects."""
from __future__ import annotations

import torch


def masked_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the pixels where ``weight`` is 1 (e.g. the missing ones).

    Args:
        pred, target: ``(N, 1, H, W)``.
        weight: ``(N, 1, H, W)`` or broadcastable, 1 = scored, 0 = ignored.
    """
    weight = weight.expand_as(pred)
    return ((pred - target).abs() * weight).sum() / weight.sum().clamp_min(1)

