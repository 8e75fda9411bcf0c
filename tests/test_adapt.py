"""Self-training on the real images' observed pixels, its re-masked pairs, and cross-fitting."""
import numpy as np
import pytest
import torch

from mri_inpaint.adapt import AdaptConfig, cross_fitted_check, self_train, self_training_batch
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


def test_cross_fitted_check_scores_each_fold_with_a_network_that_never_saw_it(corrupted_images, clean_images, mask,
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
    result = cross_fitted_check(model, images, mask, clean_images[:8], cfg, folds=2, progress=False)
    assert [len(s) for s in seen] == [5, 5] and not (seen[0] & seen[1])  # disjoint halves
    assert set(result) == {"before", "after", "folds"} and np.isfinite(result["after"]["psnr"])
    assert result["after"] != result["before"]  # each fold's check saw an adapted network
    with pytest.raises(ValueError, match="at least 2 folds"):
        cross_fitted_check(model, images, mask, clean_images[:8], cfg, folds=1)
    with pytest.raises(ValueError, match="at least 3 images"):
        cross_fitted_check(model, images[:2], mask, clean_images[:8], cfg, folds=3)


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
