"""Self-training on the real test images' observed pixels, and its cross-fitted check.

The test images have no labels, but half of their pixels are observed in a known
pattern. Re-masking an image with a translated (or warped) mask hides observed pixels,
whose true values are known: pairs whose targets are real pixels. Each way of making such
pairs is a :class:`RealPairs` in :data:`REAL_PAIRS`, chosen by ``AdaptConfig.method``;
:func:`self_train` runs any of them the same way. The label-free check that scores the
result lives in :mod:`mri_inpaint.check`.
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .check import real_image_check
from .config import AdaptConfig
from .fill import predict
from .losses import masked_l1
from .masks import shift_mask
from .warps import random_warp_grids

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- pairs on real images
def self_training_batch(pseudo: torch.Tensor, real: torch.Tensor, mask: np.ndarray,
                        rng: np.random.Generator):
    """Pairs on real images: re-mask pseudo-filled images with a translated mask.

    The input keeps real observed pixels and pseudo-filled gap pixels outside the
    translated mask; the loss is taken only where the translated mask hides *observed*
    pixels, whose true values are known.

    Returns:
        ``(inputs, shifted_mask, target, loss_mask)``, tensors ``(B, 1, H, W)``.
    """
    B = pseudo.shape[0]
    masks, weights = [], []
    for _ in range(B):
        dx = int(rng.integers(1, 4))  # 1..3: never a whole period, so observed pixels get hidden
        dy = int(rng.integers(0, mask.shape[0]))
        shifted = shift_mask(mask, dx=dx, dy=dy)
        masks.append(shifted)
        weights.append(shifted & ~mask)
    m = torch.from_numpy(np.stack(masks))[:, None].float()
    w = torch.from_numpy(np.stack(weights))[:, None].float()
    return pseudo * (1 - m), m, real, w


def warped_self_training_batch(pseudo: torch.Tensor, real: torch.Tensor, mask: np.ndarray,
                               gen: torch.Generator):
    """Pairs on real images moved by small random warps (a larger group than translations).

    The pseudo-filled image and the real image's observed-pixel indicator are warped together
    (bilinear); the exact test mask is applied to the warped pseudo-fill, and the loss is taken
    on its gap pixels that the warp drew from observed pixels only (indicator above 0.999), whose
    values are interpolated real pixels. New anatomy under the same mask, as the synthetic
    source's elastic warps make, but with the test images' own textures.

    Returns:
        ``(inputs, mask, target, loss_mask)``, tensors ``(B, 1, H, W)``.
    """
    B, _, H, W = real.shape
    observed = torch.from_numpy(~mask)[None, None].float().expand(B, 1, H, W)
    grid = random_warp_grids(B, H, gen)

    def warp(x):
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    moved_pseudo, moved_real, moved_observed = warp(pseudo), warp(real * observed), warp(observed)
    m = torch.from_numpy(mask)[None, None].float().expand(B, 1, H, W)
    return moved_pseudo * (1 - m), m, moved_real, m * (moved_observed > 0.999).float()


def splitting_batch(real: torch.Tensor, mask: np.ndarray, rng: np.random.Generator, fraction: float):
    """Pairs on real images by splitting their observed pixels (SSDU, Yaman et al. 2020; Noise2Self).

    A random ``fraction`` of the observed pixels is hidden as well; the loss is taken on
    those hidden observed pixels. No pseudo-fill enters the input.

    Returns:
        ``(inputs, input_mask, target, loss_mask)``, tensors ``(B, 1, H, W)``.
    """
    B, _, H, W = real.shape
    hide = (rng.random((B, 1, H, W)) < fraction) & ~mask[None, None]
    m = torch.from_numpy(mask[None, None] | hide).float()
    return real * (1 - m), m, real, torch.from_numpy(hide).float()


def shift_images(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Translate ``(B, 1, H, W)`` images by ``(dy, dx)`` without wrap-around (edges replicate)."""
    H, W = x.shape[-2:]
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)), mode="replicate")
    return padded[..., max(-dy, 0):max(-dy, 0) + H, max(-dx, 0):max(-dx, 0) + W]


def equivariance_loss(model, real: torch.Tensor, mask: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Equivariant-imaging loss (Chen, Tachella & Davies, ICCV 2021) for a fixed mask.

    The first fill ``x1 = f(y)`` is translated (1-3 px across the stripes, up to 4 px
    along them, no wrap-around), re-measured with the same mask and filled again; the
    second fill must reproduce the translated first fill on the gaps. Gradients flow
    through both fills. Pixels that the translation filled in by replication are ignored.
    """
    x1 = model(real * (1 - mask), mask)
    dx = int(rng.choice([-3, -2, -1, 1, 2, 3]))
    dy = int(rng.integers(-4, 5))
    moved = shift_images(x1, dy, dx)
    x2 = model(moved * (1 - mask), mask)
    valid = shift_images(torch.ones_like(x1), dy, dx)
    H, W = x1.shape[-2:]
    valid[..., :max(dy, 0), :] = 0
    valid[..., H + min(dy, 0):, :] = 0
    valid[..., :, :max(dx, 0)] = 0
    valid[..., :, W + min(dx, 0):] = 0
    return masked_l1(x2, moved, mask * valid)


# ---------------------------------------------------------------- the real-image pair makers
@dataclass(frozen=True)
class RealPairs:
    """One way of making training pairs from real test images (a self-training method).

    ``make(pseudo, real, mask, rng, gen, cfg) -> (inputs, input_mask, target, loss_mask)``,
    tensors ``(B, 1, H, W)``: ``pseudo`` are the current network's fills of the batch
    (None unless ``uses_pseudo``), ``real`` the corrupted images, ``rng``/``gen`` the
    run's numpy and torch generators. The loss is taken where ``loss_mask`` is 1, always
    on observed (real) pixels.
    """

    make: Callable
    uses_pseudo: bool  # needs pseudo-fills of the batch (refreshed every cfg.refresh_every steps)


def _pseudo_pairs(pseudo, real, mask, rng, gen, cfg):
    return self_training_batch(pseudo, real, mask, rng)


def _warp_pairs(pseudo, real, mask, rng, gen, cfg):
    """:func:`self_training_batch` pairs, the second half of the batch replaced by warped ones."""
    pairs = self_training_batch(pseudo, real, mask, rng)
    half = len(real) // 2
    warped = warped_self_training_batch(pseudo[half:], real[half:], mask, gen)
    return tuple(torch.cat([a[:half], b]) for a, b in zip(pairs, warped))


def _split_pairs(pseudo, real, mask, rng, gen, cfg):
    return splitting_batch(real, mask, rng, cfg.split_fraction)


#: The self-training methods by ``AdaptConfig.method`` name (``bench/adapt.py`` compares them).
REAL_PAIRS = {"pseudo": RealPairs(_pseudo_pairs, uses_pseudo=True),
              "split": RealPairs(_split_pairs, uses_pseudo=False),
              "warp": RealPairs(_warp_pairs, uses_pseudo=True)}


# ---------------------------------------------------------------- self-training
def self_train(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
               cfg: AdaptConfig | None = None, *, progress: bool = True, max_seconds: float | None = None,
               on_step: Callable | None = None):
    """Fine-tune a copy of ``model`` on the real images (plus synthetic anchor pairs).

    ``cfg.method`` names the pair maker in :data:`REAL_PAIRS`, whose targets are always real
    observed pixels: ``"pseudo"`` re-masks pseudo-filled images with a translated mask
    (:func:`self_training_batch`); ``"split"`` hides extra observed pixels
    (:func:`splitting_batch`); ``"warp"`` replaces half of the ``"pseudo"`` pairs by warped ones
    (:func:`warped_self_training_batch`). ``cfg.ei_weight > 0`` adds :func:`equivariance_loss`.

    Args:
        model: trained :class:`~mri_inpaint.model.InpaintNet` (left unchanged).
        real_images: corrupted real images ``(N, 1, H, W)``.
        mask: bool ``(H, W)``, True where missing.
        synthetic: clean synthetic images ``(M, 1, H, W)`` for anchor pairs with the exact mask.
        max_seconds: stop early after this much wall time (equal-time comparisons).
        on_step: ``on_step(steps_done, model)`` after every step, the model in eval mode with its
            shift averaging back (step curves: ``bench/adapt_steps.py``).

    Returns:
        the adapted copy of the model (eval mode).
    """
    from tqdm import tqdm

    cfg = cfg or AdaptConfig()
    if cfg.method not in REAL_PAIRS:
        raise ValueError(f"unknown adaptation method {cfg.method!r}: choose one of {', '.join(REAL_PAIRS)}")
    pairs = REAL_PAIRS[cfg.method]
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = copy.deepcopy(model)
    # Pseudo-fills are plain fills (no shift averaging): 4x cheaper, and on the labelled proxy
    # (bench/adapt.py) at least as good; the adapted copy gets the averaging back at the end.
    test_time_shifts = getattr(model, "test_time_shifts", 1)
    model.test_time_shifts = 1
    device = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    real = torch.from_numpy(real_images)
    syn = torch.from_numpy(synthetic)
    exact = torch.from_numpy(mask)[None, None].float()
    pseudo = None
    start = time.perf_counter()
    for step in tqdm(range(cfg.steps), desc="self-training", disable=not progress, leave=False):
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            log.info("self-training stopped after %d steps (%.0f s budget)", step, max_seconds)
            break
        idx = torch.randint(len(real), (cfg.batch_size,), generator=gen)
        if pairs.uses_pseudo and step % cfg.refresh_every == 0:
            pseudo = torch.from_numpy(predict(model, real_images, mask))
        inp, m, target, w = pairs.make(pseudo[idx] if pairs.uses_pseudo else None, real[idx], mask, rng, gen, cfg)
        sidx = torch.randint(len(syn), (cfg.batch_size,), generator=gen)
        clean = syn[sidx]
        model.train()
        pred_real = model(inp.to(device), m.to(device))
        pred_syn = model((clean * (1 - exact)).to(device), exact.expand_as(clean).to(device))
        loss = (masked_l1(pred_real, target.to(device), w.to(device))
                + cfg.synthetic_weight * masked_l1(pred_syn, clean.to(device), exact.expand_as(clean).to(device)))
        if cfg.ei_weight > 0:
            loss = loss + cfg.ei_weight * equivariance_loss(model, real[idx].to(device),
                                                            exact.expand(len(idx), -1, -1, -1).to(device), rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if on_step is not None:
            model.eval().test_time_shifts = test_time_shifts
            on_step(step + 1, model)
            model.test_time_shifts = 1
    model.test_time_shifts = test_time_shifts
    return model.eval()


def cross_fit(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
              cfg: AdaptConfig | None = None, *, folds: int = 2, progress: bool = True) -> tuple[dict, list]:
    """Honest real-image check of self-training: adapt on some images, check on the others.

    The test images are split into ``folds`` parts (a fixed random order); for each part,
    a copy of ``model`` is self-trained on the other parts and both networks are checked
    (:func:`real_image_check`) on the held-out part alone.

    Returns:
        ``(result, networks)``: ``result`` has the check on held-out folds before
        (``before``) and after (``after``) adaptation, each as from :func:`check_with`
        pooled over folds; ``networks`` are the folds' adapted networks.
    """
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {folds}")
    n = len(real_images)
    if n < folds:
        raise ValueError(f"cross-fitting {folds} folds needs at least {folds} images, got {n}")
    order = np.random.default_rng(0).permutation(n)
    parts = np.array_split(order, folds)
    before, after, networks = [], [], []
    for k, held in enumerate(parts):
        train_idx = np.setdiff1d(order, held)
        adapted = self_train(model, real_images[train_idx], mask, synthetic, cfg, progress=progress)
        networks.append(adapted)
        before.append(real_image_check(model, real_images[held], mask))
        after.append(real_image_check(adapted, real_images[held], mask))
        log.info("fold %d: check %.2f -> %.2f dB", k, before[-1]["psnr"], after[-1]["psnr"])
    sizes = np.array([len(p) for p in parts], dtype=float)

    def pool(rows):
        return {"psnr": float(np.average([r["psnr"] for r in rows], weights=sizes)),
                "mae": float(np.average([r["mae"] for r in rows], weights=sizes))}
    return {"before": pool(before), "after": pool(after), "folds": folds}, networks


def cross_fitted_check(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
                       cfg: AdaptConfig | None = None, *, folds: int = 2, progress: bool = True) -> dict:
    """The check of :func:`cross_fit` alone (its networks are dropped)."""
    return cross_fit(model, real_images, mask, synthetic, cfg, folds=folds, progress=progress)[0]
