"""Labelled evidence that looks like the test situation: a person's head kept out of training.

Every test image shows a head the network never saw, through the exact test mask, and the
final fill adapts to those images without labels. The same is done here on slices of one
embedded head that training never draws from (``DataConfig.held_out_head``), whose truth is
known: each step of the final fill (self-training on the slices' observed pixels, the
shift-averaged fill) is scored with and without it, so the fill that ships is the one this
evidence favours.
"""
from __future__ import annotations

import numpy as np

from .config import AdaptConfig
from .evaluate import BASELINES, compare_methods, network_fill
from .masks import corrupt
from .model import with_shifts

#: Variation of the held-out slices over the source's defaults: they are framed as the training
#: images are (like the test images, ``bench/framing.py``), with an elastic warp of their own
#: that a change of the training warp leaves alone (the benchmarks draw their held-out slices here too).
HELD_OUT_VARIATION = {"elastic_frac": 0.05}
HELD_OUT_SEED = 4242  # a seed never used for training images
#: Names of the candidate fills, in table order: (self-trained?, shift-averaged?).
FILL_STEPS = {"U-Net, trained": (False, False), "U-Net, trained + shift averaging": (False, True),
              "U-Net, self-trained": (True, False), "U-Net, self-trained + shift averaging": (True, True)}


def held_out_slices(head: str, n: int = 100, seed: int = HELD_OUT_SEED) -> np.ndarray:
    """``n`` clean slices of ``head`` alone, float32 ``(n, 1, 64, 64)`` in [0, 1]."""
    from .sources import AnatomyParams, AnatomySource

    return AnatomySource(AnatomyParams.from_overrides(HELD_OUT_VARIATION, heads=(head,))).sample(n, seed=seed)


def score_fill_steps(model, clean: np.ndarray, mask: np.ndarray, anchors: np.ndarray, adapt: AdaptConfig, *,
                     shifts: int = 4, progress: bool = False) -> tuple[list[dict], dict]:
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

    Returns:
        ``(rows, networks)``: :func:`~mri_inpaint.evaluate.compare_methods` rows (baselines,
        then the candidates of :data:`FILL_STEPS`) and ``{"trained", "self-trained"}`` networks.
    """
    from .adapt import self_train

    networks = {"trained": model}
    if adapt.steps > 0:
        networks["self-trained"] = self_train(model, corrupt(clean, mask), mask, anchors, adapt, progress=progress)
    methods = dict(BASELINES)
    for name, (adapted, averaged) in FILL_STEPS.items():
        net = networks.get("self-trained" if adapted else "trained")
        if net is not None:
            methods[name] = network_fill(with_shifts(net, shifts if averaged else 1))
    return compare_methods(clean, mask, methods), networks


def best_fill(rows: list[dict]) -> tuple[str, bool, bool]:
    """The candidate of :data:`FILL_STEPS` with the highest PSNR on the gaps.

    Returns:
        ``(name, self_train, shift_average)``.
    """
    candidates = [r for r in rows if r["method"] in FILL_STEPS]
    if not candidates:
        raise ValueError("no network rows to choose from: score_fill_steps first")
    name = max(candidates, key=lambda r: r["psnr_gaps"])["method"]
    return (name, *FILL_STEPS[name])
