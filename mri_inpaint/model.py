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


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of each pixel, with a learned scale and shift per channel."""

    def __init__(self, chans: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, chans, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, chans, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class NAFBlock(nn.Module):
    """A nonlinear-activation-free block (Chen et al., NAFNet, ECCV 2022).

    Two residual halves, each LayerNorm -> 1x1 widen -> (depthwise 3x3) -> SimpleGate
    (the product of the two channel halves) -> 1x1; the first half also re-weights
    channels by their global mean (simplified channel attention). A 1x1 projection first
    when the channel count changes, so it drops into the U-Net in place of :class:`ConvBlock`.
    """

    def __init__(self, in_chans: int, out_chans: int):
        super().__init__()
        c = out_chans
        self.project = nn.Conv2d(in_chans, c, 1) if in_chans != c else nn.Identity()
        self.norm1, self.norm2 = LayerNorm2d(c), LayerNorm2d(c)
        self.widen1 = nn.Conv2d(c, 2 * c, 1)
        self.depthwise = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
        self.out1 = nn.Conv2d(c, c, 1)
        self.widen2 = nn.Conv2d(c, 2 * c, 1)
        self.out2 = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    @staticmethod
    def _gate(x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.project(x)
        y = self._gate(self.depthwise(self.widen1(self.norm1(x))))
        x = x + self.beta * self.out1(y * self.attention(y))
        return x + self.gamma * self.out2(self._gate(self.widen2(self.norm2(x))))


#: The U-Net's block types by name (``TrainConfig.block``).
BLOCKS = {"conv": ConvBlock, "naf": NAFBlock}


class BlurPool(nn.Module):
    """Antialiased down-sampling (Zhang, ICML 2019): a 2x2 max at stride 1, then a binomial
    [1, 2, 1] blur at stride 2, so that the output moves less abruptly when the input shifts."""

    def __init__(self):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None] * taps[None, :]
        self.register_buffer("kernel", (kernel / kernel.sum())[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(nn.functional.pad(x, (0, 1, 0, 1), mode="replicate"), 2, stride=1)
        x = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
        return nn.functional.conv2d(x, self.kernel.expand(x.shape[1], -1, -1, -1), stride=2, groups=x.shape[1])


#: The U-Net's down-sampling by name (``TrainConfig.pool``).
POOLS = {"max": lambda: nn.MaxPool2d(2), "blur": BlurPool}


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) with max-pool down, transposed-conv up, skip concatenation.

    Args:
        in_chans: input channels.
        out_chans: output channels.
        chans: channels of the first level; doubled at each pooling.
        num_pool_layers: number of down/up-sampling steps (H and W need not be divisible:
            odd sizes are padded and cropped back).
        block: the block at every level, a name in :data:`BLOCKS`.
        pool: the down-sampling, a name in :data:`POOLS`.
    """

    def __init__(self, in_chans: int = 3, out_chans: int = 1, *, chans: int = 32, num_pool_layers: int = 3,
                 block: str = "conv", pool: str = "max"):
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"unknown block {block!r}: choose one of {', '.join(BLOCKS)}")
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}: choose one of {', '.join(POOLS)}")
        Block = BLOCKS[block]  # noqa: N806 (a class)
        self.num_pool_layers = num_pool_layers
        self.down = nn.ModuleList([Block(in_chans, chans)])
        ch = chans
        for _ in range(num_pool_layers - 1):
            self.down.append(Block(ch, ch * 2))
            ch *= 2
        self.bottleneck = Block(ch, ch * 2)
        self.up_convs, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        for _ in range(num_pool_layers):
            self.up_convs.append(nn.ConvTranspose2d(ch * 2, ch, 2, stride=2))
            self.up_blocks.append(Block(ch * 2, ch))
            ch //= 2
        self.head = nn.Conv2d(chans, out_chans, 1)
        self.pool = POOLS[pool]()

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
        chans, num_pool_layers, block, pool: U-Net size, block type and down-sampling (see :class:`UNet`).
        test_time_shifts: windows averaged in eval mode (1: a single plain fill); at most
            ``2 ** num_pool_layers``.
    """

    def __init__(self, *, chans: int = 32, num_pool_layers: int = 2, test_time_shifts: int = 1, block: str = "conv",
                 pool: str = "max"):
        super().__init__()
        period = 2 ** num_pool_layers
        if not 1 <= test_time_shifts <= period:
            raise ValueError(f"test_time_shifts must be in 1..{period} (the pooling-grid period), "
                             f"got {test_time_shifts}")
        self.model_args = {"chans": chans, "num_pool_layers": num_pool_layers,
                           "test_time_shifts": test_time_shifts, "block": block, "pool": pool}
        self.test_time_shifts = test_time_shifts
        self.unet = UNet(3, 1, chans=chans, num_pool_layers=num_pool_layers, block=block, pool=pool)
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


class InpaintEnsemble(nn.Module):
    """The average of several :class:`InpaintNet` fills; observed pixels pass through bit-identical.

    Args:
        members: trained networks (each keeps its own shift averaging).
    """

    def __init__(self, members: list[InpaintNet]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one network")
        self.members = nn.ModuleList(members)
        self.model_args = {"members": [dict(m.model_args) for m in members]}

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = torch.as_tensor(mask, device=image.device).bool().expand_as(image)
        image = image.masked_fill(mask, 0.0)
        pred = torch.stack([member(image, mask) for member in self.members]).mean(dim=0)
        return torch.where(mask, pred, image)


def with_shifts(model: nn.Module, shifts: int) -> nn.Module:
    """The same network (weights shared, not copied) whose eval-mode fill averages ``shifts``
    windows of the pooling grid (1: a plain fill); an ensemble's members all change."""
    if isinstance(model, InpaintEnsemble):
        return InpaintEnsemble([with_shifts(m, shifts) for m in model.members]).train(model.training)
    period = 2 ** model.unet.num_pool_layers
    if not 1 <= shifts <= period:
        raise ValueError(f"shifts must be in 1..{period} (the pooling-grid period), got {shifts}")
    out = copy.copy(model)
    out.test_time_shifts = shifts
    out.model_args = {**model.model_args, "test_time_shifts": shifts}
    return out


def build_network(model_args: dict) -> nn.Module:
    """An untrained :class:`InpaintNet`, or :class:`InpaintEnsemble` when ``model_args`` lists members."""
    if "members" in model_args:
        return InpaintEnsemble([InpaintNet(**args) for args in model_args["members"]])
    return InpaintNet(**model_args)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
