"""Steps shared by the CLI, the notebook and the benchmarks: inputs, image caches, defaults."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DATA_DIR = Path("data")  # image caches (git-ignored)
RUNS_DIR = Path("runs")  # training runs and checkpoints (git-ignored)
WEIGHTS = Path("weights/inpaint_unet.pt")  # committed final weights
OUTPUT = Path("test_set_nogaps.npy")  # the deliverable
FIGURES = Path("figures")
EVAL_SEED = 20261128  # held-out evaluation images: a seed never used for training
EVAL_COUNT = 400


def load_inputs(test_set: Path | None, mask_path: Path | None):
    """Find and load the test images and their mask (given, or inferred)."""
    from .data import find_test_set, load_mask, load_test_set
    from .masks import infer_mask

    path = find_test_set(test_set)
    images = load_test_set(path, require_mask_inference=mask_path is None)
    mask = load_mask(mask_path) if mask_path else infer_mask(images)
    return path, images, mask


def demo_inputs(n: int = 100, seed: int = 7):
    """A stand-in test set: embedded anatomy images corrupted with the default stripe pattern."""
    from .masks import DEFAULT_STRIPES, corrupt, stripe_mask
    from .sources import AnatomySource

    mask = stripe_mask(DEFAULT_STRIPES)
    clean = AnatomySource().sample(n, seed)
    return corrupt(clean, mask), mask, clean


def image_cache(source, n: int, seed: int, root: Path, overwrite: bool = False):
    from .cache import ImageCache

    # The folder name carries a digest of the source's settings, so changed settings get a
    # new cache instead of clashing with (and never silently reusing) an old one.
    digest = hashlib.sha256(json.dumps(source.params(), sort_keys=True).encode()).hexdigest()[:8]
    folder = root / f"{source.name}-{digest}-seed{seed}"
    return ImageCache(folder, source_name=source.name, source_params=source.params(), seed=seed,
                      count=n, overwrite=overwrite)


def training_images(cfg, data_dir: Path, progress: bool = True) -> np.ndarray:
    """Build or reuse the training-image cache for ``cfg``."""
    from .course_setup import ensure_course_importable
    from .sources import get_source

    ensure_course_importable(data_dir / "course")
    source = get_source(cfg.source)
    log.info("training images: %d from the %r source (cache under %s)", cfg.num_images, source.name, data_dir)
    return image_cache(source, cfg.num_images, cfg.image_seed, data_dir).build(source, progress=progress)


def eval_images(data_dir: Path, n: int = EVAL_COUNT) -> np.ndarray:
    """Held-out clean images (embedded source, a seed never used for training)."""
    from .sources import AnatomySource

    source = AnatomySource()
    return image_cache(source, n, EVAL_SEED, data_dir / "eval").build(source, progress=False)
