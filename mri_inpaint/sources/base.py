"""The interface every training-image source offers."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from ..config import IMAGE_SIZE  # noqa: E402,F401  (re-exported for the sources)


class ImageSource(Protocol):
    """A source of clean training images.

    ``sample(n, seed)`` returns float32 ``(n, 1, 64, 64)``, each image min-max
    normalised to [0, 1] like the test images; the same ``(n, seed)`` gives the same
    images. ``params()`` returns the JSON-serialisable settings that, with the seed,
    determine the output (recorded in the image cache's manifest).
    """

    name: str

    def params(self) -> dict: ...

    def sample(self, n: int, seed: int) -> np.ndarray: ...


def minmax_normalise(images: np.ndarray) -> np.ndarray:
    """Min-max normalise each image of ``(N, 1, H, W)`` to [0, 1] as float32.

    A constant image becomes all zeros.
    """
    images = np.asarray(images, dtype=np.float32)
    lo = images.min(axis=(1, 2, 3), keepdims=True)
    hi = images.max(axis=(1, 2, 3), keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0).astype(np.float32)
    return np.clip((images - lo) / span, 0.0, 1.0).astype(np.float32)
