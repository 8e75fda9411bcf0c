"""Training pairs with on-the-fly corruption, and the test images, as PyTorch datasets and loaders."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .masks import shift_mask


class CorruptedPairs(Dataset):
    """Wrap a ``TensorDataset`` of clean images; item ``i`` is ``(corrupted, mask, clean)``.

    Corruption is applied when an item is read, so the mask can vary per epoch. With
    probability ``shift_prob`` the mask is translated by a random offset (robustness to
    other stripe phases); otherwise it is the exact mask. ``fixed=True`` draws each
    item's mask from a generator seeded by its index, so validation never changes.
    Corruption uses its own generator and leaves global RNG state untouched.

    Args:
        clean: ``TensorDataset`` whose first tensor is ``(N, 1, H, W)`` float in [0, 1].
        mask: bool ``(H, W)``, True where missing.
        shift_prob: probability of a randomly translated mask.
        fixed: deterministic per-index masks (validation).
        seed: seed of the corruption generator.

    Returns (per item):
        ``corrupted (1,H,W)``, ``mask (1,H,W)`` float 1 = missing, ``clean (1,H,W)``.
    """

    def __init__(self, clean: TensorDataset, mask: np.ndarray, *, shift_prob: float = 0.0, fixed: bool = False,
                 seed: int = 0):
        if not 0.0 <= shift_prob <= 1.0:
            raise ValueError(f"shift_prob must be in [0, 1], got {shift_prob}")
        self.clean = clean
        self.mask = np.asarray(mask, dtype=bool)
        self.shift_prob = shift_prob
        self.fixed = fixed
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.clean)

    def get_state(self) -> dict:
        """State of the corruption generator (a JSON-serialisable dict), for checkpoints."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore the corruption generator from :meth:`get_state`."""
        self.rng.bit_generator.state = state

    def _mask_for(self, index: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, index)) if self.fixed else self.rng
        if self.shift_prob > 0 and rng.random() < self.shift_prob:
            H, W = self.mask.shape
            return shift_mask(self.mask, dx=int(rng.integers(W)), dy=int(rng.integers(H)))
        return self.mask

    def __getitem__(self, index: int):
        clean = self.clean[index][0]
        mask = torch.from_numpy(self._mask_for(index))[None].to(clean.dtype)
        return clean * (1 - mask), mask, clean


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(n)`` into train and validation indices."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_fraction)))
    if n_val >= n:
        raise ValueError(f"need at least 2 images to split into training and validation, got {n}")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def make_train_loaders(images: np.ndarray, mask: np.ndarray, *, batch_size: int = 32, val_fraction: float = 0.05,
                       shift_prob: float = 0.0, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """Training and validation loaders of ``(corrupted, mask, clean)`` triples.

    Validation images are set aside from training and corrupted with the exact mask.
    Shuffling uses a seeded generator (``loader.generator``) so runs are reproducible.

    Args:
        images: clean float32 ``(N, 1, H, W)`` in [0, 1].
        mask: bool ``(H, W)``, True where missing.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    train_idx, val_idx = split_indices(len(tensor), val_fraction, seed)
    train_set = CorruptedPairs(TensorDataset(tensor[train_idx]), mask, shift_prob=shift_prob, seed=seed + 1)
    val_set = CorruptedPairs(TensorDataset(tensor[val_idx]), mask, fixed=True, seed=seed + 2)
    gen = torch.Generator().manual_seed(seed)
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=gen, drop_last=True)
    val = DataLoader(val_set, batch_size=max(batch_size, 64), shuffle=False)
    return train, val


def make_test_loader(images: np.ndarray, *, batch_size: int = 64) -> DataLoader:
    """Loader over a ``TensorDataset`` of the corrupted test images, in their original order."""
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    return DataLoader(TensorDataset(tensor), batch_size=batch_size, shuffle=False)


__all__ = ["CorruptedPairs", "split_indices", "make_train_loaders", "make_test_loader"]
