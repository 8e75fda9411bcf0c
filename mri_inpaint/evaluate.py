"""Evaluate fill methods against known truth: the baselines and trained networks on labelled images."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .baselines import biharmonic, row_interpolate_np, zero_fill
from .fill import predict
from .masks import corrupt
from .metrics import evaluate_fill, masked_psnr

FillFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: The classical baselines, in table order.
BASELINES: dict[str, FillFn] = {"zero fill": zero_fill, "row-wise linear": row_interpolate_np,
                                "biharmonic": biharmonic}


def network_fill(model: torch.nn.Module) -> FillFn:
    """``fn(corrupted, mask) -> filled`` for a trained network."""
    return lambda images, mask: predict(model, images, mask)


def methods_table(networks: dict[str, torch.nn.Module] | None = None, *, baselines: bool = True) -> dict[str, FillFn]:
    """``{name: fill function}``: the baselines (optionally), then each named network."""
    methods = dict(BASELINES) if baselines else {}
    for name, model in (networks or {}).items():
        methods[name] = network_fill(model)
    return methods


def compare_methods(images_clean, mask, methods: dict[str, FillFn], *, per_image: bool = False) -> list[dict]:
    """Corrupt clean images with ``mask``, fill them with every method and score them.

    Args:
        images_clean: ``(N, 1, H, W)`` ground-truth images in [0, 1].
        mask: bool ``(H, W)``, True where missing.
        methods: ``{name: fn(corrupted, mask) -> filled}``, e.g. :func:`methods_table`.
        per_image: also keep each image's gap PSNR (``"psnr_gaps_per_image"``, a list of N
            floats, dB), for paired comparisons of two methods on the same images.

    Returns:
        one row per method, in order: ``{"method": name, **evaluate_fill(...),
        "seconds": wall-clock time of fn}``.
    """
    images_clean = np.asarray(images_clean)
    mask = np.asarray(mask).astype(bool)
    corrupted = corrupt(images_clean, mask)
    rows = []
    for name, fn in methods.items():
        t0 = time.perf_counter()
        filled = fn(corrupted.copy(), mask)
        elapsed = time.perf_counter() - t0
        row = {"method": name, **evaluate_fill(filled, images_clean, mask), "seconds": elapsed}
        if per_image:
            row["psnr_gaps_per_image"] = masked_psnr(filled, images_clean, mask).tolist()
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """Markdown table of :func:`compare_methods` rows (PSNR 2 decimals, SSIM/MAE 4, time 3)."""
    lines = ["| Method | PSNR gaps (dB) | SSIM gaps | PSNR image (dB) | SSIM image | MAE gaps | Time (s) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['psnr_gaps']:.2f} | {r['ssim_gaps']:.4f} | "
                     f"{r['psnr_image']:.2f} | {r['ssim_image']:.4f} | {r['mae_gaps']:.4f} | "
                     f"{r['seconds']:.3f} |")
    return "\n".join(lines)
