"""The inpainting network: a U-Net refining row-wise interpolation, with hard data consistency."""
from __future__ import annotations

import copy

import torch
from torch import nn

from .baselines import row_interpolate


class ConvBlock(nn.Module):
    """Two 3x3 convolutions, each followed by GroupNorm and LeakyReLU."""

    def __init__(self, in_chans: int, out_chans: int):
        super().__init__()
        groups = 8 if out_chans % 8 == 0 else 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_chans, out_chans, 3, padding=1, bias=False),
            nn.GroupNorm(groups, out_chans), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(out_chans, out_chans, 3, padding=1, bias=False),
            nn.GroupNorm(groups, out_chans), nn.LeakyReLU(0.2, inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) with max-pool down, transposed-conv up, skip concatenation.

    Args:
        in_chans: input channels.
        out_chans: output channels.
        chans: channels of the first level; doubled at each pooling.
        num_pool_layers: number of down/up-sampling steps (H and W need not be divisible:
            odd sizes are padded and cropped back).
    """

    def __init__(self, in_chans: int = 3, out_chans: int = 1, *, chans: int = 32, num_pool_layers: int = 3):
        super().__init__()
        self.num_pool_layers = num_pool_layers
        self.down = nn.ModuleList([ConvBlock(in_chans, chans)])
        ch = chans
        for _ in range(num_pool_layers - 1):
            self.down.append(ConvBlock(ch, ch * 2))
            ch *= 2
        self.bottleneck = ConvBlock(ch, ch * 2)
        self.up_convs, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        for _ in range(num_pool_layers):
            self.up_convs.append(nn.ConvTranspose2d(ch * 2, ch, 2, stride=2))
            self.up_blocks.append(ConvBlock(ch * 2, ch))
            ch //= 2
        self.head = nn.Conv2d(chans, out_chans, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        m = 2 ** self.num_pool_layers
        pad_h, pad_w = (-H) % m, (-W) % m
        x = nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block in zip(self.up_convs, self.up_blocks):
            x = block(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)[..., :H, :W]


class InpaintNet(nn.Module):
    """Fill missing pixels; observed pixels pass through bit-identical.

    The U-Net sees the corrupted image, the mask and the row-wise linear interpolation,
    and predicts a correction to that interpolation on the missing pixels. The output is
    clamped to [0, 1] and hard data consistency puts every observed pixel back.

    In eval mode the fill can average over shifts of the U-Net's pooling grid
    (test-time augmentation): the image and mask are reflect-padded by one grid period and
    filled in ``test_time_shifts`` windows offset diagonally by 0, 1, ... pixels, each
    cropped back to the image. The pooling makes the U-Net's output depend on where the
    anatomy falls on its grid; the average cancels part of that error.

    Args:
        chans, num_pool_layers: U-Net size (see :class:`UNet`).
        test_time_shifts: windows averaged in eval mode (1: a single plain fill); at most
            ``2 ** num_pool_layers``.
    """

    def __init__(self, *, chans: int = 32, num_pool_layers: int = 2, test_time_shifts: int = 1):
        super().__init__()
        period = 2 ** num_pool_layers
        if not 1 <= test_time_shifts <= period:
            raise ValueError(f"test_time_shifts must be in 1..{period} (the pooling-grid period), "
                             f"got {test_time_shifts}")
        self.model_args = {"chans": chans, "num_pool_layers": num_pool_layers,
                           "test_time_shifts": test_time_shifts}
        self.test_time_shifts = test_time_shifts
        self.unet = UNet(3, 1, chans=chans, num_pool_layers=num_pool_layers)
        # Start as exactly the row-wise interpolation: the U-Net learns a correction to it.
        nn.init.zeros_(self.unet.head.weight)
        nn.init.zeros_(self.unet.head.bias)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Args: image ``(N,1,H,W)`` in [0,1] with gaps; mask ``(N,1,H,W)`` or ``(H,W)``, 1 = missing.

        Returns: ``(N,1,H,W)`` in [0,1], equal to ``image`` wherever ``mask`` is 0.
        """
        mask = torch.as_tensor(mask, device=image.device).bool().expand_as(image)
        image = image.masked_fill(mask, 0.0)
        if self.training or self.test_time_shifts == 1:
            pred = self._fill(image, mask)
        else:
            pred = self._shift_averaged_fill(image, mask)
        return torch.where(mask, pred.clamp(0.0, 1.0), image)

    def _fill(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        interp = row_interpolate(image, mask)
        return interp + self.unet(torch.cat([image, mask.to(image.dtype), interp], dim=1))

    def _shift_averaged_fill(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        period = 2 ** self.unet.num_pool_layers
        H, W = image.shape[-2:]
        pad = (period, period, period, period)
        image_p = nn.functional.pad(image, pad, mode="reflect")
        mask_p = nn.functional.pad(mask.to(image.dtype), pad, mode="reflect") > 0.5
        total = torch.zeros_like(image)
        for k in range(self.test_time_shifts):
            o = k * period // self.test_time_shifts  # offset of the image inside the window
            window = (..., slice(period - o, 2 * period - o + H), slice(period - o, 2 * period - o + W))
            filled = self._fill(image_p[window], mask_p[window]).clamp(0.0, 1.0)
            total = total + filled[..., o:o + H, o:o + W]
        return total / self.test_time_shifts


def with_shifts(model: InpaintNet, shifts: int) -> InpaintNet:
    """The same network (weights shared, not copied) whose eval-mode fill averages ``shifts``
    windows of the pooling grid (1: a plain fill)."""
    period = 2 ** model.unet.num_pool_layers
    if not 1 <= shifts <= period:
        raise ValueError(f"shifts must be in 1..{period} (the pooling-grid period), got {shifts}")
    out = copy.copy(model)
    out.test_time_shifts = shifts
    out.model_args = {**model.model_args, "test_time_shifts": shifts}
    return out


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
