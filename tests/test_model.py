"""Tests for mri_inpaint.model: U-Net shapes, data consistency, initial behaviour, devices."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mri_inpaint.baselines import row_interpolate
from mri_inpaint.model import InpaintNet, UNet, count_parameters


def _randomise_head(model: InpaintNet, scale: float = 5.0) -> InpaintNet:
    """Give the zero-initialised head large random weights so the correction is far from 0."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model.unet.head.weight.copy_(torch.randn(model.unet.head.weight.shape, generator=gen) * scale)
        model.unet.head.bias.fill_(0.5)
    return model


@pytest.mark.parametrize("num_pool_layers", [1, 2, 3])
@pytest.mark.parametrize("shape", [(64, 64), (37, 50), (8, 8), (65, 31)])
def test_unet_output_shape(shape, num_pool_layers):
    torch.manual_seed(0)
    net = UNet(3, 2, chans=8, num_pool_layers=num_pool_layers)
    out = net(torch.rand(2, 3, *shape))
    assert out.shape == (2, 2, *shape)
    assert torch.isfinite(out).all()


def test_count_parameters():
    net = UNet(3, 1, chans=8, num_pool_layers=2)
    assert count_parameters(net) == sum(p.numel() for p in net.parameters())
    assert count_parameters(InpaintNet(chans=8, num_pool_layers=2)) > 0


@pytest.mark.parametrize("shape", [(64, 64), (37, 50)])
def test_inpaintnet_keeps_observed_pixels_and_range(shape):
    torch.manual_seed(0)
    model = _randomise_head(InpaintNet(chans=8, num_pool_layers=2)).eval()
    image = torch.rand(3, 1, *shape)
    mask = torch.rand(*shape) < 0.5
    with torch.no_grad():
        out = model(image, mask)
    assert out.shape == image.shape
    assert torch.equal(out[..., ~mask], image[..., ~mask])
    assert out.min() >= 0 and out.max() <= 1
    # the head really does push predictions outside [0, 1]: the clamp is exercised
    with torch.no_grad():
        raw = model.unet(torch.cat([image.masked_fill(mask, 0), mask.float().expand_as(image),
                                    row_interpolate(image.masked_fill(mask, 0), mask)], 1))
    assert raw.abs().max() > 1


def test_inpaintnet_ignores_garbage_in_the_gaps(corrupted_images, mask):
    torch.manual_seed(0)
    model = _randomise_head(InpaintNet(chans=8, num_pool_layers=2), scale=0.1).eval()
    image = torch.from_numpy(corrupted_images[:4])
    m = torch.from_numpy(mask)
    garbage = image.clone()
    garbage[..., m] = torch.tensor(float("nan"))
    garbage[0, ..., m] = 1e6
    with torch.no_grad():
        ref, out = model(image, m), model(garbage, m)
    assert torch.isfinite(out).all()
    assert torch.equal(out, ref)
    assert torch.equal(out[..., ~m], image[..., ~m])


def test_inpaintnet_starts_as_row_interpolation(corrupted_images, mask):
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2).eval()
    assert (model.unet.head.weight == 0).all() and (model.unet.head.bias == 0).all()
    image, m = torch.from_numpy(corrupted_images[:5]), torch.from_numpy(mask)
    with torch.no_grad():
        out = model(image, m)
    assert torch.equal(out, row_interpolate(image, m))


def test_inpaintnet_per_image_masks(corrupted_images, mask):
    torch.manual_seed(0)
    model = _randomise_head(InpaintNet(chans=8, num_pool_layers=2), scale=0.1).eval()
    masks = torch.from_numpy(np.stack([mask, np.roll(mask, 1, axis=1), np.roll(mask, 3, axis=0)]))[:, None]
    image = torch.from_numpy(corrupted_images[:3])  # gaps of the per-image masks hold data: zeroed inside
    with torch.no_grad():
        out = model(image, masks)
        for i in range(3):
            single = model(image[i:i + 1], masks[i, 0])
            torch.testing.assert_close(out[i:i + 1], single, rtol=0, atol=1e-5)
    observed = ~masks.expand_as(image)
    assert torch.equal(out[observed], image[observed])
    # float 0/1 masks (as the data loaders give) work the same
    with torch.no_grad():
        assert torch.equal(model(image, masks.float()), out)


def test_inpaintnet_records_model_args():
    model = InpaintNet(chans=8, num_pool_layers=2)
    assert model.model_args == {"chans": 8, "num_pool_layers": 2, "test_time_shifts": 1}
    again = InpaintNet(**model.model_args)
    again.load_state_dict(model.state_dict())


def test_inpaintnet_backward():
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2)
    image, mask = torch.rand(2, 1, 16, 16), torch.rand(16, 16) < 0.5
    model(image, mask).sum().backward()
    assert model.unet.head.weight.grad is not None and model.unet.head.weight.grad.abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_inpaintnet_on_cuda_matches_cpu(corrupted_images, mask):
    torch.manual_seed(0)
    model = _randomise_head(InpaintNet(chans=8, num_pool_layers=2), scale=0.1).eval()
    image, m = torch.from_numpy(corrupted_images[:4]), torch.from_numpy(mask)
    with torch.no_grad():
        ref = model(image, m)
        out = model.cuda()(image.cuda(), m.cuda()).cpu()
        out_cpu_mask = model(image.cuda(), mask).cpu()  # a numpy mask is moved to the image's device
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-4)
    assert torch.equal(out_cpu_mask, out)
    assert torch.equal(out[..., ~m], image[..., ~m])


@pytest.mark.parametrize("shape", [(64, 64), (37, 50)])
def test_shift_averaged_fill_is_the_mean_of_grid_shifted_windows(shape):
    torch.manual_seed(0)
    plain = _randomise_head(InpaintNet(chans=8, num_pool_layers=2), scale=0.1).eval()
    tta = InpaintNet(chans=8, num_pool_layers=2, test_time_shifts=4).eval()
    tta.load_state_dict(plain.state_dict())
    image = torch.rand(3, 1, *shape)
    mask = torch.rand(*shape) < 0.5
    H, W = shape
    with torch.no_grad():
        one, four = plain(image, mask), tta(image, mask)
        # by hand: the image placed at offset o of a window cut from a reflect-padded image
        padded = torch.nn.functional.pad(image.masked_fill(mask, 0), (4, 4, 4, 4), mode="reflect")
        pmask = torch.nn.functional.pad(mask[None, None].float(), (4, 4, 4, 4), mode="reflect")[0, 0] > 0.5
        members = [plain(padded[..., 4 - o:8 - o + H, 4 - o:8 - o + W], pmask[4 - o:8 - o + H, 4 - o:8 - o + W])
                   [..., o:o + H, o:o + W] for o in range(4)]
    expected = torch.where(mask, torch.stack(members).mean(0), image)
    torch.testing.assert_close(four, expected, rtol=0, atol=1e-6)
    assert not torch.allclose(members[0], members[2], atol=1e-4)  # the grid shift does change the fill
    assert not torch.allclose(one, four, atol=1e-4)
    assert torch.equal(four[..., ~mask], image[..., ~mask])
    assert four.min() >= 0 and four.max() <= 1


def test_shift_averaging_is_off_in_training_and_validated():
    torch.manual_seed(0)
    model = _randomise_head(InpaintNet(chans=8, num_pool_layers=2, test_time_shifts=4), scale=0.1)
    image, mask = torch.rand(2, 1, 16, 16), torch.rand(16, 16) < 0.5
    model.train()
    trained = model(image, mask)
    model.test_time_shifts = 1
    assert torch.equal(trained, model(image, mask))
    assert InpaintNet(chans=8, num_pool_layers=2, test_time_shifts=4).model_args["test_time_shifts"] == 4
    with pytest.raises(ValueError, match="test_time_shifts must be in 1..4"):
        InpaintNet(chans=8, num_pool_layers=2, test_time_shifts=5)


def test_checkpoints_without_test_time_shifts_still_load():
    from mri_inpaint.checkpoint import build_model
    old = InpaintNet(chans=8, num_pool_layers=2)
    state = {"model": old.state_dict(), "model_args": {"chans": 8, "num_pool_layers": 2}}
    assert build_model(state).test_time_shifts == 1
