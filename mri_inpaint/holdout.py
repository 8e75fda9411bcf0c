"""Labelled evidence that looks like the test situation: a person's head kept out of training.

Every test image shows a head the network never saw, through the exact test mask, and the
final fill adapts to those images without labels. The same is done here on slices of one
embedded head that training never draws from (``DataConfig.held_out_head``), whose truth is
known: each step of the final fill (self-training on the slices' observed pixels, the
shift-averaged fill) is scored with and without it, slice by slice. A step ships only when
its paired per-slice gain beats its own noise (:func:`best_fill`); a tie ships the cheaper fill.
"""
from __future__ import annotations

import numpy as np

from .config import AdaptConfig
from .evaluate import BASELINES, compare_methods, network_fill
from .masks import corrupt
from .metrics import paired_difference
from .model import with_shifts

#: Variation of the held-out slices over the source's defaults: they are framed as the training
#: images are, with an elastic warp of their own that a change of the training warp leaves alone
#: (the benchmarks draw their held-out slices here too).
HELD_OUT_VARIATION = {"elastic_frac": 0.05, "elastic_knots": 5, "elastic_edge_px": 0.0, "outline_elastic_frac": 0.0,
                      "crown_ratio_range": None}
HELD_OUT_SEED = 4242  # a seed never used for training images
#: Names of the candidate fills, in table order: (self-trained?, shift-averaged?).
FILL_STEPS = {"U-Net, trained": (False, False), "U-Net, trained + shift averaging": (False, True),
              "U-Net, self-trained": (True, False), "U-Net, self-trained + shift averaging": (True, True)}
#: The steps a fill may add to the plain trained network, in the order they are judged:
#: self-training (once per test set), then shift averaging (four fills per image instead of one).
STEPS = ("self-training", "shift averaging")
#: A step is a "gain" only when its mean paired gain exceeds this many standard errors.
GAIN_STANDARD_ERRORS = 2.0


def held_out_slices(head: str, n: int = 100, seed: int = HELD_OUT_SEED) -> np.ndarray:
    """``n`` clean slices of ``head`` alone, float32 ``(n, 1, 64, 64)`` in [0, 1]."""
    from .sources import AnatomyParams, AnatomySource

    return AnatomySource(AnatomyParams.from_overrides(HELD_OUT_VARIATION, heads=(head,))).sample(n, seed=seed)


def score_fill_steps(model, clean: np.ndarray, mask: np.ndarray, anchors: np.ndarray, adapt: AdaptConfig, *,
                     shifts: int = 4, progress: bool = False, self_train=None) -> tuple[list[dict], dict]:
    """Score the baselines and each candidate fill on labelled slices seen through ``mask``.

    The network is self-trained on the corrupted slices exactly as it is on the test images
    (label-free, on their observed pixels), then every candidate fills the same slices.

    Args:
        model: the trained network (left unchanged).
        clean: ``(N, 1, H, W)`` ground truth of a head the network never saw.
        mask: bool ``(H, W)``, True where missing (the exact test mask).
        anchors: synthetic training images that anchor self-training.
        adapt: the self-training settings (``adapt.steps`` 0: the self-trained rows are skipped).
        shifts: windows of the shift-averaged candidates.
        self_train: the self-training function (default :func:`mri_inpaint.adapt.self_train`).

    Returns:
        ``(rows, networks)``: :func:`~mri_inpaint.evaluate.compare_methods` rows (baselines,
        then the candidates of :data:`FILL_STEPS`), each with its per-slice gap PSNRs
        (``"psnr_gaps_per_image"``), and ``{"trained", "self-trained"}`` networks.
    """
    if self_train is None:
        from .adapt import self_train

    networks = {"trained": model}
    if adapt.steps > 0:
        networks["self-trained"] = self_train(model, corrupt(clean, mask), mask, anchors, adapt, progress=progress)
    methods = dict(BASELINES)
    for name, (adapted, averaged) in FILL_STEPS.items():
        net = networks.get("self-trained" if adapted else "trained")
        if net is not None:
            methods[name] = network_fill(with_shifts(net, shifts if averaged else 1))
    return compare_methods(clean, mask, methods, per_image=True), networks


def verdict(mean: float, se: float, *, k: float = GAIN_STANDARD_ERRORS) -> str:
    """``"gain"`` when ``mean > k * se``, ``"loss"`` when ``mean < -k * se``, else ``"tie"`` (also for a NaN ``se``)."""
    if not np.isfinite(se):
        return "tie"
    return "gain" if mean > k * se else "loss" if mean < -k * se else "tie"


def _fill_name(adapted: bool, averaged: bool) -> str:
    return next(name for name, flags in FILL_STEPS.items() if flags == (adapted, averaged))


def best_fill(rows: list[dict]) -> tuple[list[dict], tuple[str, bool, bool]]:
    """Choose the fill step by step, by paired per-slice tests on the held-out head.

    Start from the cheapest fill (the trained network, one window). For each step of
    :data:`STEPS` in turn, compare the fill with the step against the current fill, slice by
    slice (the same slices, so the paired differences cancel how hard each slice is), and add
    the step only when its verdict is ``"gain"``: mean difference above
    :data:`GAIN_STANDARD_ERRORS` standard errors. A tie keeps the cheaper fill.

    Args:
        rows: :func:`score_fill_steps` rows (with ``"psnr_gaps_per_image"``); the
            self-training step is skipped when no self-trained rows are there.

    Returns:
        ``(comparisons, (name, self_train, shift_average))``: one row per step judged,
        ``{"step", "with", "without", "mean_db", "sd_db", "se_db", "n", "verdict"}``
        (differences "with" minus "without", dB of gap PSNR), and the chosen fill.
    """
    by = {r["method"]: r for r in rows if r["method"] in FILL_STEPS}
    if _fill_name(False, False) not in by:
        raise ValueError("no network rows to choose from: score_fill_steps first")
    missing = [name for name, r in by.items() if "psnr_gaps_per_image" not in r]
    if missing:
        raise ValueError(f"rows {missing} lack per-slice scores (psnr_gaps_per_image): score them with "
                         "score_fill_steps, or compare_methods(..., per_image=True)")
    state, comparisons = [False, False], []
    for i, step in enumerate(STEPS):
        candidate = list(state)
        candidate[i] = True
        with_step, without = _fill_name(*candidate), _fill_name(*state)
        if with_step not in by:
            continue
        d = paired_difference(by[with_step]["psnr_gaps_per_image"], by[without]["psnr_gaps_per_image"])
        comparisons.append({"step": step, "with": with_step, "without": without, "mean_db": d["mean"],
                            "sd_db": d["sd"], "se_db": d["se"], "n": d["n"], "verdict": verdict(d["mean"], d["se"])})
        if comparisons[-1]["verdict"] == "gain":
            state = candidate
    return comparisons, (_fill_name(*state), *state)


def format_comparisons(comparisons: list[dict]) -> str:
    """Markdown table of :func:`best_fill`'s comparisons."""
    lines = ["| step | fill with the step | against | mean gain (dB) | sd (dB) | standard error (dB) | slices "
             "| verdict |", "|---|---|---|---:|---:|---:|---:|---|"]
    lines += [f"| {c['step']} | {c['with']} | {c['without']} | {c['mean_db']:+.3f} | {c['sd_db']:.3f} | "
              f"{c['se_db']:.3f} | {c['n']} | {c['verdict']} |" for c in comparisons]
    return "\n".join(lines)
