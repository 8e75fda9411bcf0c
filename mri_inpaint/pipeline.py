"""The job, written once: inputs, images, training, adaptation, scoring, filling.

Each step is a small function over a :class:`~mri_inpaint.config.Config` and a
:class:`~mri_inpaint.paths.Paths`; :func:`run` composes them. The command line, the
notebook and the benchmarks all call these functions::

    test_set.npy --load_inputs--> images + mask ----------------------------+
    image source --training_images--> clean images (resumable cache)        |
        --train_or_resume--> network (runs/<name>/last.pt, best.pt)         |
        --adapt_to_test_images (observed pixels of the test images) <-------+
        --> final network --score_networks (new slices of the training heads, real-image check)
        --fill_and_write--> test_set_nogaps.npy (verified, atomic)
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import AdaptConfig, Config, DataConfig
from .paths import Paths

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- inputs
@dataclass
class TestInputs:
    """The corrupted images to fill and their mask (bool ``(64, 64)``, True = missing)."""

    __test__ = False  # not a pytest test class, despite its name
    images: np.ndarray
    mask: np.ndarray
    path: Path | None = None  # the file they came from; None for a demo input
    demo: bool = False  # True: a stand-in made from the embedded source, never the deliverable
    original: np.ndarray | None = None  # the images in the file's own dtype when it is not float32
    mask_path: Path | None = None  # the --mask file, if one was given


def load_inputs(test_set: Path | str | None = None, mask_path: Path | str | None = None) -> TestInputs:
    """Find and load the test images (see :func:`~mri_inpaint.data.find_test_set`) and their mask."""
    from .data import find_test_set, load_mask, load_test_set, require_shared_mask, require_useful_mask
    from .masks import infer_mask

    path = find_test_set(test_set)
    original = load_test_set(path, require_mask_inference=mask_path is None, keep_dtype=True)
    images = original.astype(np.float32, copy=False)
    if mask_path:
        mask = load_mask(mask_path)
    else:
        mask = infer_mask(images)
        require_useful_mask(mask, f"the mask inferred from {path}")
        require_shared_mask(images, mask, f"test set {path}")
    return TestInputs(images, mask, path, original=None if original.dtype == np.float32 else original,
                      mask_path=Path(mask_path) if mask_path else None)


def demo_inputs(n: int = 100, seed: int = 7) -> tuple[TestInputs, np.ndarray]:
    """A labelled stand-in test set: embedded images corrupted with the default stripes.

    Returns:
        ``(inputs, clean)`` with ``inputs.demo`` True.
    """
    from .masks import DEFAULT_STRIPES, corrupt, stripe_mask
    from .sources import AnatomySource

    mask = stripe_mask(DEFAULT_STRIPES)
    clean = AnatomySource().sample(n, seed)
    return TestInputs(corrupt(clean, mask), mask, None, demo=True), clean


# ---------------------------------------------------------------- images
def image_source(data: DataConfig, paths: Paths):
    """The training-image source ``data.source`` names (``"auto"``: the course generator when installed)."""
    from .course_setup import ensure_course_importable
    from .sources import AnatomyParams, AnatomySource, course_generator_available, get_source

    ensure_course_importable(paths.course_dir)
    name = data.source if data.source != "auto" else ("course" if course_generator_available() else "anatomy")
    if name == "anatomy":
        heads = AnatomyParams().heads if data.heads == "all" else tuple(h.strip() for h in data.heads.split(",")
                                                                         if h.strip())
        return AnatomySource(AnatomyParams(heads=tuple(h for h in heads if h != data.held_out_head)))
    return get_source(name, **data.course_kwargs())


def image_cache(source, n: int, seed: int, root: Path, *, overwrite: bool = False):
    """The resumable cache of ``n`` images of ``source`` under ``root``.

    The folder name carries a digest of the source's settings, so changed settings get a
    new cache instead of clashing with (and never silently reusing) an old one. A smaller
    cache than the one already there (a smoke run after a full one) gets its own folder,
    ``...-n<count>``: its images are the same either way (they depend on the settings and
    ``n`` only), and neither cache breaks the other.
    """
    from .cache import ImageCache, cached_count

    digest = hashlib.sha256(json.dumps(source.params(), sort_keys=True).encode()).hexdigest()[:8]
    folder = Path(root) / f"{source.name}-{digest}-seed{seed}"
    if cached_count(folder) > n:
        folder = folder.with_name(f"{folder.name}-n{n}")
    return ImageCache(folder, source_name=source.name, source_params=source.params(), seed=seed,
                      count=n, overwrite=overwrite)


def training_images(cfg: Config, paths: Paths, *, progress: bool = True, report=None) -> np.ndarray:
    """Build (or resume, or reuse) the training-image cache; float32 ``(N, 1, 64, 64)``.

    The course generator makes ``data.generated_images`` images (0: as many as
    ``data.generation_budget_s`` allows, timed on one batch) and augmented copies of them
    complete ``data.num_images`` (:func:`~mri_inpaint.generation.augment_to`).
    """
    source = image_source(cfg.data, paths)
    n = cfg.data.num_images
    if source.name == "course":
        n = cfg.data.generated_images or planned_generated_images(cfg.data, source)
        n = min(n, cfg.data.num_images)
    log.info("training images: %d from the %r source (cache under %s)", n, source.name, paths.data_dir)
    images = image_cache(source, n, cfg.data.image_seed, paths.data_dir).build(source, progress=progress,
                                                                               report=report)
    if len(images) < cfg.data.num_images:
        from .generation import augment_to

        log.info("%d augmented copies complete the %d training images", cfg.data.num_images - len(images),
                 cfg.data.num_images)
        images = augment_to(images, cfg.data.num_images, cfg.data.image_seed)
    return images


def planned_generated_images(data: DataConfig, source) -> int:
    """How many images the course generator makes within ``data.generation_budget_s``, timed on one batch."""
    import time

    t0 = time.perf_counter()
    probe = source.sample(source.batch_size, seed=data.image_seed + 999_983)
    per_image = (time.perf_counter() - t0) / len(probe)
    n = max(min(data.min_generated, data.num_images), int(data.generation_budget_s / per_image))
    log.info("course generator: %.3f s an image, so %d images fit %.0f s", per_image, n, data.generation_budget_s)
    return n


def new_slices(cfg: Config, paths: Paths, *, progress: bool = False) -> np.ndarray:
    """New clean slices of the training heads: the training images' source, with a seed never used for training."""
    source = image_source(cfg.data, paths)
    return image_cache(source, cfg.data.eval_images, cfg.data.eval_seed, paths.data_dir / "eval").build(
        source, progress=progress)


def anchor_images(train_images: np.ndarray, adapt: AdaptConfig) -> np.ndarray:
    """The synthetic images that keep self-training anchored: the first ``adapt.num_anchors``."""
    return train_images[: min(adapt.num_anchors, len(train_images))]


# ---------------------------------------------------------------- training and adaptation
def train_or_resume(cfg: Config, train_images: np.ndarray, test: TestInputs, paths: Paths, *,
                    progress: bool = True, resume: bool = True, train=None):
    """Train on ``train_images`` corrupted with the test mask, resuming ``paths.run_dir`` if it holds a run.

    Each epoch's log row also gets the label-free check on the test images
    (``real_check_psnr``), so the curves show both scores.

    Args:
        resume: continue a run found in ``paths.run_dir`` (made with the same settings, else
            :class:`ValueError` naming the differences); False refuses to touch one
            (:class:`FileExistsError`).
        train: the training loop (default :func:`mri_inpaint.train.train`; the notebook passes the
            copy its cells define).

    Returns:
        ``(model, state)``: the best network (by validation PSNR on the gaps, eval mode)
        and its checkpoint state.
    """
    from .checkpoint import build_model, load_checkpoint, require_resumable
    from .utils import pick_device

    if train is None:
        from .train import train

    device = pick_device(cfg.device)
    record = {**asdict(cfg), "training_images": _digest(train_images)}
    if resume:
        require_resumable(paths.run_dir, record)

    def check(model, row):
        return {"real_check_psnr": check_network(model, test)["psnr"]}

    last = train(cfg.train, train_images, test.mask, paths.run_dir, resume=resume, progress=progress, device=device,
                 record=record, on_epoch=check)
    scores = [row["val_psnr_gaps"] for row in last["history"]]
    if scores.index(max(scores)) == len(scores) - 1:  # the last epoch was the best: best.pt holds this state
        best = last
    else:
        best = load_checkpoint(paths.run_dir / "best.pt", map_location=device)
        best["history"] = last["history"]
    return build_model(best, device), best


def check_network(model, test: TestInputs) -> dict:
    """The label-free check (:func:`~mri_inpaint.check.real_image_check`) of ``model`` on the test images."""
    from .check import real_image_check

    return real_image_check(model, test.images, test.mask)


def adapt_to_test_images(cfg: Config, model, test: TestInputs, anchors: np.ndarray, paths: Paths, *,
                         progress: bool = True, self_train=None):
    """Self-train ``model`` on the test images' observed pixels, with the cross-fitted check.

    With ``cfg.adapt.folds`` >= 2, copies of ``model`` are first adapted fold by fold
    (:func:`~mri_inpaint.adapt.cross_fitted_check`: each is checked on the test images it did
    not see), then the final one on all test images. The result is kept as
    ``paths.run_dir/adapted.pt`` and reused by a rerun with the same settings.

    Args:
        self_train: the self-training function (default :func:`mri_inpaint.adapt.self_train`;
            the notebook passes the copy its cells define).

    Returns:
        ``(final, cross_fitted)``: the final network (``model`` itself when
        ``cfg.adapt.steps`` is 0) and the cross-fitted check (None without folds).
    """
    from .adapt import cross_fitted_check
    from .checkpoint import build_model, load_checkpoint, write_weights

    if cfg.adapt.steps <= 0:
        return model, None
    path = paths.run_dir / "adapted.pt"
    device = next(model.parameters()).device
    key = adapt_key(cfg, model, test, anchors)
    if path.exists():
        state = load_checkpoint(path, map_location=device)
        stale = [name for name, value in key.items() if state["metrics"].get("reuse_key", {}).get(name) != value]
        if not stale:
            log.info("reusing the adapted weights in %s (same starting weights, test images and settings)", path)
            return build_model(state, device), state["metrics"].get("cross_fitted_check")
        log.info("not reusing %s: its %s differ; adapting again", path, ", ".join(stale))
    cross = None
    if cfg.adapt.folds >= 2:
        cross = cross_fitted_check(model, test.images, test.mask, anchors, cfg.adapt, folds=cfg.adapt.folds,
                                   progress=progress, adapt=self_train)
    if self_train is None:
        from .adapt import self_train
    final = self_train(model, test.images, test.mask, anchors, cfg.adapt, progress=progress)
    write_weights(path, final, config=asdict(cfg),
                  metrics={"test_set": str(test.path), "cross_fitted_check": cross, "reuse_key": key})
    return final, cross


def _digest(*arrays) -> str:
    """sha256 of arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def adapt_key(cfg: Config, model, test: TestInputs, anchors: np.ndarray) -> dict:
    """What an adaptation depends on, as digests: starting weights, test images and mask, anchors, settings."""
    weights = [t.detach().cpu().numpy() for _, t in sorted(model.state_dict().items())]
    return {"starting weights": _digest(*weights), "test images and mask": _digest(test.images, test.mask),
            "anchor images": _digest(anchors),
            "adapt settings": hashlib.sha256(json.dumps(asdict(cfg.adapt), sort_keys=True).encode()).hexdigest()}


def held_out_evidence(cfg: Config, model, mask, anchors: np.ndarray, *, progress: bool = True, self_train=None,
                      cache: Path | None = None):
    """Score each step of the final fill on slices of the head training never saw (``cfg.data.held_out_head``).

    Returns:
        ``(rows, choice, slices)``: :func:`~mri_inpaint.holdout.score_fill_steps` rows;
        ``{"fill", "self_train", "test_time_shifts", "comparisons"}``: the fill that
        :func:`~mri_inpaint.holdout.best_fill` chooses by paired per-slice tests (a step ships
        only on a gain beyond noise), and those tests; ``{"clean", "filled"}``: the slices'
        truth and the chosen fill of them (for truth / fill / error figures).

    With ``cache`` (a ``.npz`` path), the result is kept there and a rerun with the same network,
    mask, anchors and settings reads it back instead of self-training again.
    """
    from .fill import predict
    from .holdout import best_fill, held_out_slices, score_fill_steps
    from .masks import corrupt
    from .model import with_shifts

    if not cfg.data.held_out_head:
        raise ValueError("no held-out head configured (DataConfig.held_out_head)")
    weights = [t.detach().cpu().numpy() for _, t in sorted(model.state_dict().items())]
    key = _digest(*weights, np.asarray(mask), anchors) + json.dumps(
        [asdict(cfg.adapt), cfg.data.held_out_head, cfg.data.held_out_images, cfg.train.test_time_shifts])
    if cache is not None and Path(cache).is_file():
        with np.load(cache) as f:
            if str(f["key"]) == key:
                log.info("reusing the held-out head's evidence in %s", cache)
                rows, choice = json.loads(str(f["result"]))
                return rows, choice, {"clean": f["clean"], "filled": f["filled"]}
    clean = held_out_slices(cfg.data.held_out_head, cfg.data.held_out_images)
    shifts = cfg.train.test_time_shifts
    rows, networks = score_fill_steps(model, clean, mask, anchors, cfg.adapt, shifts=shifts, progress=progress,
                                      self_train=self_train)
    comparisons, (name, adapted, averaged) = best_fill(rows)
    choice = {"fill": name, "self_train": adapted, "test_time_shifts": shifts if averaged else 1,
              "comparisons": comparisons}
    chosen = with_shifts(networks["self-trained" if adapted else "trained"], choice["test_time_shifts"])
    slices = {"clean": clean, "filled": predict(chosen, corrupt(clean, mask), mask)}
    if cache is not None:
        from .utils import atomic_write

        result = json.dumps([rows, choice], default=lambda v: np.asarray(v).tolist())

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, key=key, result=result, **slices)

        atomic_write(Path(cache), write)
    return rows, choice, slices


# ---------------------------------------------------------------- scoring and output
def score_networks(cfg: Config, paths: Paths, networks: dict, test: TestInputs) -> dict:
    """Score the baselines and ``networks`` two ways.

    Returns:
        ``{"new_slices": rows, "real_check": rows}``: the quality table on new slices of the
        training heads corrupted with the exact test mask, and the label-free check on the test images.
    """
    from .check import check_methods
    from .evaluate import compare_methods, methods_table

    methods = methods_table(networks)
    return {"new_slices": compare_methods(new_slices(cfg, paths), test.mask, methods),
            "real_check": check_methods(test.images, test.mask, methods)}


def output_path(paths: Paths, test: TestInputs) -> Path:
    """Where the filled images go: the deliverable, or the run folder for a demo input."""
    return paths.run_dir / "demo_nogaps.npy" if test.demo else paths.output


def fill_and_write(model, test: TestInputs, output: Path, *, keep_previous_in: Path | None = None,
                   overwrite: bool = True, squeeze: bool = False, deliverable_ok: bool = True) -> np.ndarray:
    """Fill the test images, verify and write them atomically to ``output``.

    The output has the input file's dtype; its observed pixels are the input's, bit for bit.

    Args:
        keep_previous_in: if ``output`` exists, copy it there first with the time in its
            name (:func:`~mri_inpaint.paths.keep_copy`; nothing the user has is lost).
        overwrite: allow replacing an existing ``output`` (False: :class:`FileExistsError`).
        squeeze: write ``(N, H, W)``, the layout of a 3-D input file.
        deliverable_ok: ``output`` may be the deliverable (never for a demo input; the command
            line allows it only for a final preset's ``run``).

    Returns:
        the filled images, in the input's dtype.
    """
    from .fill import predict, require_output_path, write_filled
    from .paths import keep_copy

    output = Path(output)
    inputs = {"--mask": test.mask_path}
    deliverable_ok = deliverable_ok and not test.demo
    require_output_path(output, overwrite=overwrite, deliverable_ok=deliverable_ok,
                        inputs={"input": test.path, **inputs})
    filled = predict(model, test.images, test.mask)
    images = test.images
    if test.original is not None:  # float16/float64 input: observed pixels stay bit-identical in its dtype
        images = test.original
        filled = np.where(test.mask, filled.astype(images.dtype), images)
    if squeeze:
        filled, images = filled[:, 0], images[:, 0]
    if output.exists():
        backup = keep_copy(output, keep_previous_in)
        log.info("kept the previous %s as %s", output, backup)
    write_filled(output, filled, images, test.mask, input_path=test.path, overwrite=overwrite,
                 deliverable_ok=deliverable_ok, inputs=inputs)
    return filled


def export_final(cfg: Config, model, state: dict, metrics: dict, paths: Paths, export: Path | None = None, *,
                 flag: str = "--export", overwrite: bool = False, inputs: dict | None = None) -> Path:
    """Write the final network as ``paths.run_dir/final.pt`` (and a copy at ``export``).

    Args:
        flag, overwrite, inputs: how ``export`` is guarded (:func:`~mri_inpaint.paths.require_writable`);
            a file it replaces is copied first (:func:`~mri_inpaint.paths.keep_copy`).
    """
    from .checkpoint import write_weights
    from .paths import keep_copy, require_writable
    from .utils import atomic_write

    path = write_weights(paths.run_dir / "final.pt", model, config=asdict(cfg), history=state["history"],
                         metrics=metrics)
    if export is not None:
        require_writable(export, flag=flag, suffix=".pt", overwrite=overwrite, inputs=inputs)
        if Path(export).exists():
            log.info("kept the previous %s as %s", export, keep_copy(export))
        atomic_write(export, lambda tmp: shutil.copyfile(path, tmp))
    return path


def ship_weights(final: Path, output: Path) -> Path | None:
    """When ``output`` is the deliverable, copy the network that filled it (``final``) to the committed
    weights that ``fill``, ``check`` and ``evaluate`` load, so the two always ship together.

    Returns:
        the committed weights' path, or None when ``output`` is not the deliverable.
    """
    from .paths import DEFAULT_WEIGHTS, deliverable, same_file
    from .utils import atomic_write

    if not same_file(output, deliverable()):
        return None
    atomic_write(DEFAULT_WEIGHTS, lambda tmp: shutil.copyfile(final, tmp))
    log.info("the network that filled %s is now %s", output, DEFAULT_WEIGHTS)
    return DEFAULT_WEIGHTS


def run(cfg: Config, paths: Paths, test: TestInputs, *, export: Path | None = None, progress: bool = True,
        figures: bool = True, figures_dir: Path | None = None, deliverable_ok: bool = True,
        overwrite: bool = True) -> dict:
    """The whole job: images, training (resumable), adaptation, scoring, filling, figures.

    Args:
        deliverable_ok: the fill may go to the deliverable (the command line: final presets only).
        overwrite: an existing ``--export`` file may be replaced (a copy is kept).
        figures_dir: folder of the run's figures; default ``paths.run_dir/figures`` (git-ignored,
            unlike ``paths.figures``, which holds the notebook's committed figures).

    Returns:
        the metrics written to ``paths.run_dir/metrics.json`` (plus ``"output"``).
    """
    from .model import with_shifts

    train_imgs = training_images(cfg, paths, progress=progress)
    model, state = train_or_resume(cfg, train_imgs, test, paths, progress=progress)
    anchors = anchor_images(train_imgs, cfg.adapt)
    held_out, choice, _ = held_out_evidence(cfg, model, test.mask, anchors, progress=progress,
                                            cache=paths.run_dir / "held_out_evidence.npz")
    log.info("held-out head %s: the best fill is %r", cfg.data.held_out_head, choice["fill"])
    adapted, cross = adapt_to_test_images(cfg, model, test, anchors, paths, progress=progress)
    final = with_shifts(adapted if choice["self_train"] else model, choice["test_time_shifts"])
    networks = {"U-Net, trained": model}
    if final is not model:
        networks["U-Net, final"] = final  # its real-image check is in-sample when self-trained
    scores = {**score_networks(cfg, paths, networks, test), "held_out_head": held_out, "fill_choice": choice}
    out = output_path(paths, test)
    filled = fill_and_write(final, test, out, keep_previous_in=paths.run_dir / "previous",
                            deliverable_ok=deliverable_ok)
    from .masks import fit_stripes

    metrics = {**scores, "cross_fitted_check": cross, "history": state["history"], "config": asdict(cfg),
               "demo_input": test.demo, "test_set": str(test.path), "output": str(out),
               "stripes": fit_stripes(test.mask).to_dict()}
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    (paths.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    kept = {k: metrics[k] for k in ("new_slices", "held_out_head", "fill_choice", "real_check", "cross_fitted_check")}
    final_pt = export_final(cfg, final, state, kept, paths, export, overwrite=overwrite,
                            inputs={"--test-set": test.path, "--mask": test.mask_path})
    ship_weights(final_pt, out)
    if figures:
        try:
            from .figures import save_run_figures
            save_run_figures(state["history"], test.images, filled, test.mask,
                             figures_dir if figures_dir is not None else paths.run_dir / "figures")
        except ImportError as exc:  # matplotlib missing: figures are optional
            log.warning("figures skipped: %s", exc)
    return metrics
