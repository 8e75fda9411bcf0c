"""What the benchmarks share: result and variant folders, the held-out-head proxy, short runs.

Every script imports this module as ``bench.common``, so run them from the repository root
as modules (``python -m bench.loho``) with the package installed.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch

from mri_inpaint.config import AdaptConfig, preset, with_overrides
from mri_inpaint.holdout import HELD_OUT_SEED, HELD_OUT_VARIATION, held_out_slices
from mri_inpaint.losses import masked_l1
from mri_inpaint.paths import Paths
from mri_inpaint.pipeline import image_cache, training_images
from mri_inpaint.sources import AnatomyParams, AnatomySource
from mri_inpaint.sources.heads import HEADS

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
#: Named experiment variants: ``bench/variants/<name>.json`` (see :func:`load_variant`).
VARIANTS = BENCH_DIR / "variants"

#: Heads that are one person's scan (the averaged templates are not held out: no test image is an average).
INDIVIDUAL_HEADS = tuple(name for name, spec in HEADS.items() if spec.kind == "single")
HELD_OUT_IMAGES = 200
#: The held-out slices' variation and seed: the package's (pinned there, so that a variant adopted
#: leaves the evaluation images alone).
HELD_OUT_ANATOMY, HELD_OUT_SEED = HELD_OUT_VARIATION, HELD_OUT_SEED
#: The keys a variant file may set.
VARIANT_KEYS = {"description", "anatomy", "train", "num_images", "epochs"}
#: The length of a leave-one-head-out run unless a variant sets another: training images, epochs.
SHORT_RUN_IMAGES, SHORT_RUN_EPOCHS = 8000, 2


def load_variant(name: str | None) -> dict:
    """The variant ``bench/variants/<name>.json`` with every key filled (None: the defaults).

    A variant file holds ``description`` (one line), ``anatomy`` (overrides of
    :class:`~mri_inpaint.sources.AnatomyParams`), ``train`` (overrides of
    :class:`~mri_inpaint.config.TrainConfig`) and optionally ``num_images`` and ``epochs``
    (the length of a leave-one-head-out run).
    """
    variant = {"description": "the defaults", "anatomy": {}, "train": {}}
    if name is None:
        return variant
    path = VARIANTS / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in VARIANTS.glob("*.json")))
        raise FileNotFoundError(f"variant {name!r} not found ({path}): choose one of {known}, or add the file")
    loaded = json.loads(path.read_text())
    unknown = set(loaded) - VARIANT_KEYS
    if unknown:
        raise ValueError(f"{path} sets unknown key(s) {sorted(unknown)}: known are {sorted(VARIANT_KEYS)}")
    return {**variant, **loaded}


def bench_paths(run_name: str) -> Paths:
    """The folders of a benchmark run: ``runs/<run_name>``, and image caches under ``data/bench/``.

    The benchmarks' short runs draw the same sources as the job at other lengths; a cache of
    their own keeps them from meeting (and being refused by) the job's larger caches.
    """
    paths = Paths.default(run_name=run_name)
    return paths.replace(data_dir=paths.data_dir / "bench")


def held_out_images(head: str, n: int = HELD_OUT_IMAGES, seed: int = HELD_OUT_SEED):
    """Clean slices of one head only, with fixed variation (by default a seed never used for training)."""
    return held_out_slices(head, n, seed)


def run_length(variant: dict) -> tuple[int, int]:
    """A variant's leave-one-head-out run length ``(num_images, epochs)``, the short run unless it sets them."""
    return variant.get("num_images", SHORT_RUN_IMAGES), variant.get("epochs", SHORT_RUN_EPOCHS)


def short_run_config(heads: list[str], num_images: int, epochs: int, train: dict | None = None):
    """Settings of a run on ``heads`` of the given length, ``train`` overriding TrainConfig.

    The run draws from every head named: no head is held back (``held_out_head`` is the
    notebook's stand-in, and a benchmark chooses its held-out head itself).
    """
    return with_overrides(preset(), data={"source": "anatomy", "heads": ",".join(heads), "num_images": num_images,
                                          "held_out_head": ""},
                          train={"epochs": epochs, **(train or {})}, device="cpu")


def loho_config(head: str, num_images: int, epochs: int, train: dict | None = None):
    """The run's settings: every head but ``head``, a short run, ``train`` overriding TrainConfig."""
    return short_run_config([h for h in HEADS if h != head], num_images, epochs, train)


def loho_images(cfg, paths, anatomy: dict):
    """The run's training images: the configured heads, with ``anatomy`` overriding the source's variation."""
    if not anatomy:
        return training_images(cfg, paths, progress=False)
    source = AnatomySource(AnatomyParams.from_overrides(anatomy, heads=tuple(cfg.data.heads.split(","))))
    return image_cache(source, cfg.data.num_images, cfg.data.image_seed, paths.data_dir).build(source, progress=False)


def supervised_fine_tune(model, clean_images: np.ndarray, mask: np.ndarray, synthetic: np.ndarray,
                         cfg: AdaptConfig | None = None, *, progress: bool = False):
    """The labelled counterpart of :func:`~mri_inpaint.adapt.self_train`: fine-tune on clean images of the target kind.

    Same steps, batch size, learning rate and synthetic anchors as self-training, but the
    real-image pairs are ``clean_images`` under the exact mask with the loss on every gap
    pixel. Given images of the target distribution with their truth, this is what
    adaptation could reach with labels: a ceiling for the label-free methods (``bench.ceiling``).

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
