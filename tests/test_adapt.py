"""Self-training on the real images' observed pixels, its pair makers, and cross-fitting."""
import numpy as np
import pytest
import torch

from mri_inpaint.adapt import (REAL_PAIRS, AdaptConfig, cross_fit, cross_fitted_check, self_train,
                               self_training_batch, shift_images, splitting_batch, warped_self_training_batch)
from mri_inpaint.config import ADAPT_METHODS
from mri_inpaint.model import InpaintNet


def test_self_training_batch_targets_are_real_observed_pixels(corrupted_images, mask):
    pseudo = torch.from_numpy(corrupted_images[:6]) + 0.5  # deliberately wrong pseudo-fill
    real = torch.from_numpy(corrupted_images[:6])
    inputs, m, target, weight = self_training_batch(pseudo, real, mask, np.random.default_rng(0))
    w = weight.bool()
    assert w.any()
    assert not (w & torch.from_numpy(mask)).any()  # never scored on unknown (missing) pixels
    assert torch.equal(target, real)
    assert torch.all(inputs[m.bool()] == 0)  # what is hidden is zeroed in the input
    assert torch.all(m.bool() | ~w)  # scored pixels are hidden


def test_self_train_returns_adapted_copy(corrupted_images, clean_images, mask):
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    adapted = self_train(model, corrupted_images[:8], mask, clean_images[:8],
                         AdaptConfig(steps=3, batch_size=4, refresh_every=2), progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # original untouched
    assert any(not torch.equal(before[k], v) for k, v in adapted.state_dict().items())
    out = adapted(torch.from_numpy(corrupted_images[:2]), torch.from_numpy(mask))
    observed = ~torch.from_numpy(mask).expand_as(out)
    assert torch.equal(out[observed], torch.from_numpy(corrupted_images[:2])[observed])


def test_zero_steps_leave_the_model_as_it_was(corrupted_images, clean_images, mask):
    model = InpaintNet(chans=8, num_pool_layers=2)
    adapted = self_train(model, corrupted_images[:4], mask, clean_images[:4],
                         AdaptConfig(steps=0, batch_size=2), progress=False)
    assert adapted is not model
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), adapted.state_dict().values()))


def test_splitting_batch_hides_a_share_of_observed_pixels(corrupted_images, mask):
    real = torch.from_numpy(corrupted_images[:8])
    inputs, m, target, weight = splitting_batch(real, mask, np.random.default_rng(0), 0.3)
    w = weight.bool()
    assert not (w & torch.from_numpy(mask)).any()  # targets are observed pixels only
    assert torch.all(m.bool() | ~w) and torch.all(inputs[m.bool()] == 0)
    assert torch.all(m.bool()[:, :, torch.from_numpy(mask)])  # the real gaps stay gaps
    share = w.float().sum() / (8 * (~mask).sum())
    assert 0.25 < share < 0.35


@pytest.mark.parametrize("dy,dx", [(0, 2), (3, -1), (-4, 3)])
def test_shift_images_translates_without_wrapping(dy, dx):
    x = torch.arange(64.0 * 64).reshape(1, 1, 64, 64)
    moved = shift_images(x, dy, dx)
    assert moved.shape == x.shape
    inner = moved[..., 4:60, 4:60]
    assert torch.equal(inner, x[..., 4 - dy:60 - dy, 4 - dx:60 - dx])
    assert moved.max() <= x.max()  # nothing wraps in from the other side (replicated edges only)


def test_warped_batch_scores_gap_pixels_drawn_from_observed_pixels_only(mask):
    # Observed pixels all 0.7; a pseudo-fill of 0.2 in the gaps: any target pixel that mixed
    # in a gap pixel would fall below 0.7.
    real = torch.from_numpy(np.where(mask, 0.0, 0.7).astype(np.float32))[None, None].repeat(8, 1, 1, 1)
    pseudo = torch.from_numpy(np.where(mask, 0.2, 0.7).astype(np.float32))[None, None].repeat(8, 1, 1, 1)
    inputs, m, target, weight = warped_self_training_batch(pseudo, real, mask, torch.Generator().manual_seed(0))
    w = weight.bool()
    exact = torch.from_numpy(mask)[None, None].expand_as(m)
    assert torch.equal(m.bool(), exact) and not (w & ~exact).any()  # the exact mask; loss on its gaps only
    assert (inputs[exact] == 0).all()
    assert w.sum() > 0.1 * exact.sum()  # the warps move observed pixels into a good share of the gaps
    assert torch.allclose(target[w], torch.tensor(0.7), atol=1e-3)
    again = warped_self_training_batch(pseudo, real, mask, torch.Generator().manual_seed(0))
    assert torch.equal(again[3], weight)
    assert not torch.equal(warped_self_training_batch(pseudo, real, mask, torch.Generator().manual_seed(1))[3], weight)


@pytest.mark.parametrize("method,ei", [("split", 0.0), ("pseudo", 1.0), ("warp", 0.0)])
def test_other_adaptation_losses_train_and_keep_observed_pixels(corrupted_images, clean_images, mask, method, ei):
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2)
    with torch.no_grad():
        model.unet.head.weight.normal_(0, 0.05)  # off zero, so every loss has a gradient
    adapted = self_train(model, corrupted_images[:8], mask, clean_images[:8],
                         AdaptConfig(method=method, ei_weight=ei, steps=2, batch_size=4), progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), adapted.state_dict().values()))
    out = adapted(torch.from_numpy(corrupted_images[:2]), torch.from_numpy(mask))
    observed = ~torch.from_numpy(mask).expand_as(out)
    assert torch.equal(out[observed], torch.from_numpy(corrupted_images[:2])[observed])


def test_every_configurable_method_has_a_pair_maker():
    assert tuple(REAL_PAIRS) == ADAPT_METHODS
    assert [name for name, pairs in REAL_PAIRS.items() if pairs.uses_pseudo] == ["pseudo", "warp"]


def test_warp_pairs_replace_the_second_half_of_the_pseudo_pairs(corrupted_images, mask):
    real = torch.from_numpy(corrupted_images[:6])
    pseudo = real + 0.25
    cfg = AdaptConfig(method="warp")
    plain = REAL_PAIRS["pseudo"].make(pseudo, real, mask, np.random.default_rng(0), torch.Generator().manual_seed(0), cfg)
    mixed = REAL_PAIRS["warp"].make(pseudo, real, mask, np.random.default_rng(0), torch.Generator().manual_seed(0), cfg)
    for a, b in zip(plain, mixed):
        assert torch.equal(a[:3], b[:3])  # the first half: the translated-mask pairs, unchanged
    exact = torch.from_numpy(mask).float()
    assert all(torch.equal(m[0], exact) for m in mixed[1][3:])  # the second half: the exact mask (warped pairs)
    assert not any(torch.equal(m[0], exact) for m in plain[1][3:])


def test_unknown_method_is_refused(corrupted_images, clean_images, mask):
    with pytest.raises(ValueError, match="unknown adaptation method"):
        self_train(InpaintNet(chans=8), corrupted_images[:2], mask, clean_images[:2], AdaptConfig(method="magic"))


def test_cross_fit_checks_each_fold_with_a_network_that_never_saw_it(corrupted_images, clean_images, mask,
                                                                     monkeypatch):
    import mri_inpaint.adapt as adapt_mod
    seen = []
    real_self_train = adapt_mod.self_train

    def recording_self_train(model, images, *args, **kwargs):
        seen.append({img.tobytes() for img in images})
        return real_self_train(model, images, *args, **kwargs)
    monkeypatch.setattr(adapt_mod, "self_train", recording_self_train)
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2)
    images = corrupted_images[:10]
    cfg = AdaptConfig(steps=2, batch_size=4, refresh_every=2)
    result, networks = cross_fit(model, images, mask, clean_images[:8], cfg, folds=2, progress=False)
    assert len(networks) == 2 and all(net is not model for net in networks)
    assert [len(s) for s in seen] == [5, 5] and not (seen[0] & seen[1])  # disjoint halves
    assert set(result) == {"before", "after", "folds"} and np.isfinite(result["after"]["psnr"])
    assert cross_fitted_check(model, images, mask, clean_images[:8], cfg, folds=2, progress=False) == result
    with pytest.raises(ValueError, match="at least 2 folds"):
        cross_fit(model, images, mask, clean_images[:8], cfg, folds=1)
    with pytest.raises(ValueError, match="at least 3 images"):
        cross_fit(model, images[:2], mask, clean_images[:8], cfg, folds=3)


def test_self_train_keeps_the_shift_averaging_of_its_network(corrupted_images, clean_images, mask, monkeypatch):
    import mri_inpaint.adapt as adapt_mod
    shifts_seen = []
    real_predict = adapt_mod.predict

    def recording_predict(model, *args, **kwargs):
        shifts_seen.append(model.test_time_shifts)
        return real_predict(model, *args, **kwargs)
    monkeypatch.setattr(adapt_mod, "predict", recording_predict)
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2, test_time_shifts=4)
    adapted = self_train(model, corrupted_images[:8], mask, clean_images[:8],
                         AdaptConfig(steps=3, batch_size=4, refresh_every=2), progress=False)
    assert shifts_seen == [1, 1]  # pseudo-fills at steps 0 and 2 are plain fills
    assert adapted.test_time_shifts == 4 and model.test_time_shifts == 4


def test_self_train_reports_every_step_with_the_fill_it_would_ship(corrupted_images, clean_images, mask):
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2, test_time_shifts=4)
    seen = []

    def on_step(done, net):
        seen.append((done, net.training, net.test_time_shifts))
    adapted = self_train(model, corrupted_images[:8], mask, clean_images[:8],
                         AdaptConfig(steps=3, batch_size=4, refresh_every=2), progress=False, on_step=on_step)
    assert seen == [(1, False, 4), (2, False, 4), (3, False, 4)]
    assert adapted.test_time_shifts == 4 and not adapted.training
