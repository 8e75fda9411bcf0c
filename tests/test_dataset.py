"""Tests for mri_inpaint.dataset: on-the-fly corruption, seeded splits and loaders."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from mri_inpaint.dataset import CorruptedPairs, make_test_loader, make_train_loaders, split_indices


def _pairs(images, mask, **kwargs) -> CorruptedPairs:
    return CorruptedPairs(TensorDataset(torch.from_numpy(images)), mask, **kwargs)


def _fingerprints(loader) -> list[float]:
    """One number per clean image seen by ``loader``, in order (images are all distinct)."""
    return [float(x) for _, _, clean in loader for x in clean.sum(dim=(1, 2, 3))]


# ---------------------------------------------------------------- CorruptedPairs
def test_items_are_corrupted_mask_clean(clean_images, mask):
    ds = _pairs(clean_images, mask, shift_prob=0.0)
    assert len(ds) == len(clean_images)
    for i in (0, 7, len(ds) - 1):
        corrupted, m, clean = ds[i]
        assert corrupted.shape == m.shape == clean.shape == (1, 64, 64)
        assert m.dtype == clean.dtype == torch.float32
        np.testing.assert_array_equal(m[0].numpy().astype(bool), mask)
        np.testing.assert_array_equal(clean.numpy(), clean_images[i])
        assert torch.equal(corrupted, clean * (1 - m))
        assert (corrupted[m.bool()] == 0).all()


def test_fixed_masks_repeat_on_every_read(clean_images, mask):
    ds = _pairs(clean_images, mask, shift_prob=1.0, fixed=True, seed=3)
    first = [ds[i][1] for i in range(8)]
    second = [ds[i][1] for i in reversed(range(8))][::-1]
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    # a second dataset with the same seed gives the same masks
    other = _pairs(clean_images, mask, shift_prob=1.0, fixed=True, seed=3)
    assert all(torch.equal(first[i], other[i][1]) for i in range(8))
    # and the masks are shifted copies of the exact one
    assert not all(torch.equal(m[0], torch.from_numpy(mask).float()) for m in first)
    assert all(int(m.sum()) == int(mask.sum()) for m in first)


def test_training_masks_vary_with_shift(clean_images, mask):
    ds = _pairs(clean_images, mask, shift_prob=1.0)
    masks = [ds[0][1] for _ in range(6)]
    distinct = {m.numpy().tobytes() for m in masks}
    assert len(distinct) > 1
    for m in masks:  # each is a wrapped translation of the exact mask
        assert int(m.sum()) == int(mask.sum())
        corrupted, m2, clean = ds[0]
        assert torch.equal(corrupted, clean * (1 - m2))


def test_reading_items_leaves_global_rng_untouched(clean_images, mask):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    for fixed in (False, True):
        ds = _pairs(clean_images, mask, shift_prob=0.5, fixed=fixed)
        for i in range(len(ds)):
            ds[i]
    assert random.getstate() == states[0]
    after = np.random.get_state()
    assert after[0] == states[1][0] and np.array_equal(after[1], states[1][1]) and after[2:] == states[1][2:]
    assert torch.equal(torch.get_rng_state(), states[2])


@pytest.mark.parametrize("shift_prob", [-0.1, 1.5])
def test_bad_shift_prob(clean_images, mask, shift_prob):
    with pytest.raises(ValueError, match="shift_prob must be in"):
        _pairs(clean_images, mask, shift_prob=shift_prob)
    with pytest.raises(ValueError, match="shift_prob must be in"):
        make_train_loaders(clean_images, mask, shift_prob=shift_prob)


# ---------------------------------------------------------------- splits and loaders
def test_split_indices_disjoint_and_seeded():
    train, val = split_indices(40, 0.25, seed=5)
    assert len(val) == 10 and len(train) == 30
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(40))
    t2, v2 = split_indices(40, 0.25, seed=5)
    assert np.array_equal(train, t2) and np.array_equal(val, v2)
    assert not np.array_equal(val, split_indices(40, 0.25, seed=6)[1])


@pytest.mark.parametrize("val_fraction", [0.0, 1.0, -0.2, 1.5])
def test_bad_val_fraction(clean_images, mask, val_fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        make_train_loaders(clean_images, mask, val_fraction=val_fraction)


def test_split_needs_two_images():
    with pytest.raises(ValueError, match="at least 2 images"):
        split_indices(1, 0.5, seed=0)


def test_train_loaders_split_disjoint(clean_images, mask):
    train, val = make_train_loaders(clean_images, mask, batch_size=8, val_fraction=0.25, seed=0)
    n_val = len(val.dataset)
    assert n_val == 12 and len(train.dataset) == 36
    assert len(train) == 36 // 8  # drop_last
    all_prints = {float(x) for x in torch.from_numpy(clean_images).sum(dim=(1, 2, 3))}
    assert len(all_prints) == len(clean_images)  # the fingerprint identifies an image
    train_prints = {float(x) for x in train.dataset.clean.tensors[0].sum(dim=(1, 2, 3))}
    val_prints = set(_fingerprints(val))
    assert train_prints.isdisjoint(val_prints)
    assert train_prints | val_prints == all_prints
    # validation uses the exact mask, fixed per index
    for corrupted, m, clean in val:
        assert (m.bool() == torch.from_numpy(mask)).all()
        assert torch.equal(corrupted, clean * (1 - m))


def test_train_loader_shuffling_is_seeded(clean_images, mask):
    def epochs(seed):
        train, _ = make_train_loaders(clean_images, mask, batch_size=8, val_fraction=0.25,
                                      shift_prob=0.5, seed=seed)
        return [(_fingerprints(train), [m.numpy().tobytes() for _, m, _ in train]) for _ in range(2)]

    a, b = epochs(0), epochs(0)
    assert a == b  # same seed: same order and same masks, epoch after epoch
    assert a[0][0] != a[1][0]  # reshuffled each epoch
    assert epochs(1)[0][0] != a[0][0]


def test_test_loader_keeps_order(corrupted_images):
    loader = make_test_loader(corrupted_images, batch_size=10)
    batches = [x for (x,) in loader]
    assert [len(b) for b in batches] == [10, 10, 10, 10, 8]
    np.testing.assert_array_equal(torch.cat(batches).numpy(), corrupted_images)
    assert torch.cat(batches).dtype == torch.float32
