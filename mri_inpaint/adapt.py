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

import numpy as np
import torch

from .config import AdaptConfig
from .fill import predict
from .losses import masked_l1
from .masks import shift_mask
from .metrics import psnr_from_mse

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


def self_train(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
               cfg: AdaptConfig | None = None, *, progress: bool = True):
    """Fine-tune a copy of ``model`` on the real images (plus synthetic anchor pairs).

    Args:
        model: trained :class:`~mri_inpaint.model.InpaintNet` (left unchanged).
        real_images: corrupted real images ``(N, 1, H, W)``.
        mask: bool ``(H, W)``, True where missing.
        synthetic: clean synthetic images ``(M, 1, H, W)`` for anchor pairs with the exact mask.

    Returns:
        the adapted copy of the model (eval mode).
    """
    from tqdm import tqdm

    cfg = cfg or AdaptConfig()
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = copy.deepcopy(model)
    device = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    real = torch.from_numpy(real_images)
    syn = torch.from_numpy(synthetic)
    exact = torch.from_numpy(mask)[None, None].float()
    pseudo = None
    for step in tqdm(range(cfg.steps), desc="self-training", disable=not progress, leave=False):
        if step % cfg.refresh_every == 0:
            pseudo = torch.from_numpy(predict(model, real_images, mask))
        idx = torch.randint(len(real), (cfg.batch_size,), generator=gen)
        inp, m, target, w = self_training_batch(pseudo[idx], real[idx], mask, rng)
        sidx = torch.randint(len(syn), (cfg.batch_size,), generator=gen)
        clean = syn[sidx]
        model.train()
        pred_real = model(inp.to(device), m.to(device))
        pred_syn = model((clean * (1 - exact)).to(device), exact.expand_as(clean).to(device))
        loss = (masked_l1(pred_real, target.to(device), w.to(device))
                + cfg.synthetic_weight * masked_l1(pred_syn, clean.to(device), exact.expand_as(clean).to(device)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def cross_fitted_check(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
                       cfg: AdaptConfig | None = None, *, folds: int = 2, progress: bool = True) -> dict:
    """Honest real-image check of self-training: adapt on some images, check on the others.

    Returns:
        dict with the check on held-out folds before (``before``) and after (``after``)
        adaptation, each as from :func:`check_with`, pooled over folds.
    """
    n = len(real_images)
    order = np.random.default_rng(0).permutation(n)
    parts = np.array_split(order, folds)
    before, after = [], []
    for k, held in enumerate(parts):
        train_idx = np.setdiff1d(order, held)
        adapted = self_train(model, real_images[train_idx], mask, synthetic, cfg, progress=progress)
        before.append(real_image_check(model, real_images[held], mask))
        after.append(real_image_check(adapted, real_images[held], mask))
        log.info("fold %d: check %.2f -> %.2f dB", k, before[-1]["psnr"], after[-1]["psnr"])
    sizes = np.array([len(p) for p in parts], dtype=float)

    def pool(rows):
        return {"psnr": float(np.average([r["psnr"] for r in rows], weights=sizes)),
                "mae": float(np.average([r["mae"] for r in rows], weights=sizes))}
    return {"before": pool(before), "after": pool(after), "folds": folds}
