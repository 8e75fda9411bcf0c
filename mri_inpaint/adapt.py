"""Learning from the real test images themselves: a label-free check and self-training.

The test images have no labels, but half of their pixels are observed in a known
pattern. Translating the stripe mask by half a period (2 px) turns the observed pixels
into gaps: we fill each test image, re-mask the filled image with the shifted mask,
fill again, and score the second fill on the hidden pixels whose true values we know.
The same construction gives self-training pairs whose targets are real pixels.
"""
from __future__ import annotations

import copy
import logging
import time

import numpy as np
import torch
import torch.nn.functional as F

from .config import ADAPT_METHODS, AdaptConfig
from .fill import predict
from .losses import masked_l1
from .masks import shift_mask
from .metrics import psnr_from_mse
from .sources.anatomy import smooth_field, uniform_draws

log = logging.getLogger(__name__)

#: Mask translation (dy, dx) of the label-free check: half a stripe period.
CHECK_SHIFT = (0, 2)


def check_with(fill_fn, images: np.ndarray, mask: np.ndarray, *, shift: tuple[int, int] = CHECK_SHIFT) -> dict:
    """Label-free check of any fill method ``fill_fn(corrupted, mask) -> filled``.

    Args:
        images: real corrupted images ``(N, 1, H, W)``; ``mask`` bool ``(H, W)``.
        shift: translation ``(dy, dx)`` of the mask that hides observed pixels.

    Returns:
        dict with ``psnr`` (mean per-image PSNR, dB), ``mae`` on the hidden observed
        pixels, and ``hidden_pixels`` (how many per image).
    """
    first = fill_fn(images, mask)
    shifted = shift_mask(mask, dx=shift[1], dy=shift[0])
    hidden = shifted & ~mask  # observed pixels (true values known) that the shifted mask hides
    second = fill_fn(np.where(shifted, 0, first).astype(np.float32), shifted)
    err = (second - images)[:, 0][:, hidden]
    return {"psnr": float(psnr_from_mse((err ** 2).mean(axis=1)).mean()), "mae": float(np.abs(err).mean()),
            "hidden_pixels": int(hidden.sum()), "shift": list(shift)}


def real_image_check(model, images: np.ndarray, mask: np.ndarray, *, shift=CHECK_SHIFT) -> dict:
    """:func:`check_with` for a trained network."""
    return check_with(lambda x, m: predict(model, x, m), images, mask, shift=shift)


# ---------------------------------------------------------------- self-training
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


def random_warp_grids(n: int, size: int, gen: torch.Generator, *, rotation_deg: float = 4.0,
                      scale: float = 0.05, shift_px: float = 2.0, elastic_px: float = 1.5) -> torch.Tensor:
    """Sampling grids ``(n, size, size, 2)`` of small random warps: rotation, zoom, translation, elastic
    (the embedded source's draws, :mod:`~mri_inpaint.sources.anatomy`, at pixel scale)."""
    ang = uniform_draws(gen, n, -rotation_deg, rotation_deg) * torch.pi / 180
    zoom = uniform_draws(gen, n, 1 - scale, 1 + scale)
    tx, ty = (uniform_draws(gen, n, -shift_px, shift_px) * 2 / size for _ in range(2))
    cos, sin = torch.cos(ang) / zoom, torch.sin(ang) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=False)
    return grid + smooth_field(gen, n, 2, 5, size).permute(0, 2, 3, 1) * elastic_px * 2 / size


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


def self_train(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
               cfg: AdaptConfig | None = None, *, progress: bool = True, max_seconds: float | None = None):
    """Fine-tune a copy of ``model`` on the real images (plus synthetic anchor pairs).

    ``cfg.method`` chooses the real-image loss, whose targets are always real observed pixels:
    ``"pseudo"`` re-masks pseudo-filled images with a translated mask
    (:func:`self_training_batch`); ``"split"`` hides extra observed pixels
    (:func:`splitting_batch`); ``"warp"`` replaces half of the ``"pseudo"`` pairs by warped ones
    (:func:`warped_self_training_batch`). ``cfg.ei_weight > 0`` adds :func:`equivariance_loss`.

    Args:
        model: trained :class:`~mri_inpaint.model.InpaintNet` (left unchanged).
        real_images: corrupted real images ``(N, 1, H, W)``.
        mask: bool ``(H, W)``, True where missing.
        synthetic: clean synthetic images ``(M, 1, H, W)`` for anchor pairs with the exact mask.
        max_seconds: stop early after this much wall time (equal-time comparisons).

    Returns:
        the adapted copy of the model (eval mode).
    """
    from tqdm import tqdm

    cfg = cfg or AdaptConfig()
    if cfg.method not in ADAPT_METHODS:
        raise ValueError(f"unknown adaptation method {cfg.method!r}: choose one of {', '.join(ADAPT_METHODS)}")
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
        if cfg.method in ("pseudo", "warp"):
            if step % cfg.refresh_every == 0:
                pseudo = torch.from_numpy(predict(model, real_images, mask))
            inp, m, target, w = self_training_batch(pseudo[idx], real[idx], mask, rng)
            if cfg.method == "warp":  # the second half of the batch: warped pairs instead
                half = len(idx) // 2
                warped = warped_self_training_batch(pseudo[idx[half:]], real[idx[half:]], mask, gen)
                inp, m, target, w = (torch.cat([a[:half], b]) for a, b in zip((inp, m, target, w), warped))
        else:
            inp, m, target, w = splitting_batch(real[idx], mask, rng, cfg.split_fraction)
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
    model.test_time_shifts = test_time_shifts
    return model.eval()


def supervised_fine_tune(model, clean_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
                         cfg: AdaptConfig | None = None, *, progress: bool = False):
    """The labelled counterpart of :func:`self_train`: fine-tune on clean images of the target kind.

    Same steps, batch size, learning rate and synthetic anchors as self-training, but the
    real-image pairs are ``clean_images`` under the exact mask with the loss on every gap
    pixel. Given images of the target distribution with their truth, this is what
    adaptation could reach with labels: a ceiling for the label-free methods (``bench/ceiling.py``).

    Returns:
        the fine-tuned copy of the model (eval mode; shift averaging as ``model`` had it).
    """
    from tqdm import tqdm

    cfg = cfg or AdaptConfig()
    gen = torch.Generator().manual_seed(cfg.seed)
    model = copy.deepcopy(model)
    device = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sources = [(torch.from_numpy(clean_images), 1.0), (torch.from_numpy(synthetic), cfg.synthetic_weight)]
    exact = torch.from_numpy(mask)[None, None].float().to(device)
    for _ in tqdm(range(cfg.steps), desc="supervised fine-tuning", disable=not progress, leave=False):
        model.train()
        loss = 0.0
        for images, weight in sources:
            batch = images[torch.randint(len(images), (cfg.batch_size,), generator=gen)].to(device)
            m = exact.expand_as(batch)
            loss = loss + weight * masked_l1(model(batch * (1 - m), m), batch, m)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
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
