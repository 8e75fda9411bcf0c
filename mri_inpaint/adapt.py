"""Self-training on the real test images' observed pixels, and its cross-fitted check.

The test images have no labels, but half of their pixels are observed in a known
pattern. Re-masking a pseudo-filled image with a translated mask hides observed pixels,
whose true values are known: pairs whose targets are real pixels
(:func:`self_training_batch`), on which :func:`self_train` fine-tunes the network. The
label-free check that scores the result lives in :mod:`mri_inpaint.check`.
"""
from __future__ import annotations

import copy
import logging
import time
from typing import Callable

import numpy as np
import torch

from .check import real_image_check
from .config import AdaptConfig
from .fill import predict
from .losses import masked_l1
from .masks import shift_mask

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


# ---------------------------------------------------------------- self-training
def self_train(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
               cfg: AdaptConfig | None = None, *, progress: bool = True, max_seconds: float | None = None,
               on_step: Callable | None = None):
    """Fine-tune a copy of ``model`` on the real images (plus synthetic anchor pairs).

    Each step re-masks pseudo-filled real images with a translated mask
    (:func:`self_training_batch`: the loss only on hidden observed pixels) and adds the loss
    of synthetic images under the exact mask, weighted by ``cfg.synthetic_weight``. The
    pseudo-fills are the current network's, recomputed every ``cfg.refresh_every`` steps.

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
        if step % cfg.refresh_every == 0:
            pseudo = torch.from_numpy(predict(model, real_images, mask))
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
        if on_step is not None:
            model.eval().test_time_shifts = test_time_shifts
            on_step(step + 1, model)
            model.test_time_shifts = 1
    model.test_time_shifts = test_time_shifts
    return model.eval()


def cross_fitted_check(model, real_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
                       cfg: AdaptConfig | None = None, *, folds: int = 2, progress: bool = True,
                       adapt: Callable | None = None) -> dict:
    """Honest real-image check of self-training: adapt on some images, check on the others.

    The test images are split into ``folds`` parts (a fixed random order); for each part,
    a copy of ``model`` is self-trained on the other parts and both networks are checked
    (:func:`real_image_check`) on that part alone.

    ``adapt`` is the self-training function (default :func:`self_train`).

    Returns:
        the check of each fold, by networks not adapted on it, before (``before``) and after (``after``) adaptation,
        each ``{"psnr", "mae"}`` pooled over folds (weighted by fold size), and ``folds``.
    """
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {folds}")
    n = len(real_images)
    if n < folds:
        raise ValueError(f"cross-fitting {folds} folds needs at least {folds} images, got {n}")
    adapt = adapt or self_train
    order = np.random.default_rng(0).permutation(n)
    parts = np.array_split(order, folds)
    before, after = [], []
    for k, held in enumerate(parts):
        train_idx = np.setdiff1d(order, held)
        adapted = adapt(model, real_images[train_idx], mask, synthetic, cfg, progress=progress)
        before.append(real_image_check(model, real_images[held], mask))
        after.append(real_image_check(adapted, real_images[held], mask))
        log.info("fold %d: check %.2f -> %.2f dB", k, before[-1]["psnr"], after[-1]["psnr"])
    sizes = np.array([len(p) for p in parts], dtype=float)

    def pool(rows):
        return {"psnr": float(np.average([r["psnr"] for r in rows], weights=sizes)),
                "mae": float(np.average([r["mae"] for r in rows], weights=sizes))}
    return {"before": pool(before), "after": pool(after), "folds": folds}
