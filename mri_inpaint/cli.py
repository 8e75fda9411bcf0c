"""Command line: ``mri-inpaint {info,generate,train,adapt,evaluate,check,fill,run,course-setup}``.

This module only parses arguments and calls :mod:`mri_inpaint.pipeline`. The settings'
flags are generated from the dataclasses in :mod:`mri_inpaint.config` (name, default of
the chosen ``--preset``, help from the field's comment).
"""
from __future__ import annotations

import argparse
import errno
import importlib
import inspect
import io
import json
import logging
import os
import shlex
import sys
import tokenize
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import FINAL_PRESETS, PRESETS, AdaptConfig, DataConfig, TrainConfig, preset, preset_run_name
from .paths import DEFAULT_WEIGHTS, Paths, deliverable, require_free_space, require_writable, same_file

log = logging.getLogger("mri_inpaint")

#: Config sections exposed as flags: (section, dataclass, flag prefix).
SECTIONS = (("data", DataConfig, ""), ("train", TrainConfig, ""), ("adapt", AdaptConfig, "adapt-"))


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the ``None`` of flags whose default comes from elsewhere."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (``mri-inpaint CMD: error: ...``) and a pointer to ``--help``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def _choices() -> dict[str, tuple[str, ...]]:
    from .sources import SOURCE_NAMES
    from .sources.course import SCHEDULERS

    return {"source": SOURCE_NAMES, "course_scheduler": SCHEDULERS}


# ---------------------------------------------------------------- flags from the configs
@lru_cache(maxsize=None)
def field_help(cls: type) -> dict[str, str]:
    """``{field name: the comment after it}`` read from ``cls``'s source (the flags' help text)."""
    helps: dict[str, str] = {}
    names = {f.name for f in fields(cls)}
    lines = inspect.getsource(cls)
    last_name = None
    for tok in tokenize.generate_tokens(io.StringIO(lines).readline):
        if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names:
            last_name = tok.string
        elif tok.type == tokenize.COMMENT and last_name is not None:
            helps.setdefault(last_name, tok.string.lstrip("# ").strip())
        elif tok.type == tokenize.NEWLINE:
            last_name = None
    return helps


def add_config_flags(parser: argparse.ArgumentParser, sections=SECTIONS, *, device: bool = True) -> None:
    """Add one flag per config field of ``sections`` (default: the preset's value)."""
    defaults = preset("full")
    choices = _choices()
    parser.set_defaults(sections=tuple(section for section, _, _ in sections))
    for section, cls, prefix in sections:
        group = parser.add_argument_group(f"{section} settings ({cls.__name__})")
        helps = field_help(cls)
        for f in fields(cls):
            flag = "--" + prefix + f.name.replace("_", "-")
            default = getattr(getattr(defaults, section), f.name)
            text = f"{helps.get(f.name, f.name)} (full preset: {default})"
            kwargs = dict(dest=f"{section}.{f.name}", default=None, help=text.replace("%", "%%"),
                          metavar=None if isinstance(default, bool) or f.name in choices else f.name.upper())
            if isinstance(default, bool):
                group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            else:
                group.add_argument(flag, type=type(default), choices=choices.get(f.name), **kwargs)
    if device:
        parser.add_argument("--device", dest="device", default=None,
                            help="'auto' (CUDA if available), 'cpu' or 'cuda' (default: auto)")
    parser.add_argument("--preset", choices=tuple(PRESETS), default="full",
                        help="named settings the flags above start from ('smoke': a seconds-long run); each "
                             "preset has its own run folder (runs/main for full, runs/preset-NAME otherwise)")


def config_from_args(args: argparse.Namespace):
    """The preset named by ``--preset`` with every flag that was given applied."""
    from .config import with_overrides

    cfg = preset(getattr(args, "preset", "full"))
    overrides: dict = {}
    for key, value in vars(args).items():
        if value is None or "." not in key:
            continue
        section, name = key.split(".", 1)
        overrides.setdefault(section, {})[name] = value
    if getattr(args, "device", None):
        from .utils import pick_device

        pick_device(args.device)  # an unknown device is reported now, not after the images are built
        overrides["device"] = args.device
    cfg = with_overrides(cfg, **overrides)
    validate_config(cfg, args)
    return cfg


# ---------------------------------------------------------------- validation before any work
def _at_least(low):
    return lambda v: v >= low, f">= {low}"


#: ``{section.field: (test, what it must be)}``: each flag's range, tested before any work.
RANGES = {
    "data.num_images": _at_least(2), "data.held_out_images": _at_least(1), "data.eval_images": _at_least(1),
    "data.course_steps": _at_least(1), "data.course_batch_size": _at_least(1),
    "data.course_temperature": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "train.epochs": _at_least(1), "train.batch_size": _at_least(1), "train.lr": (lambda v: v > 0, "> 0"),
    "train.weight_decay": _at_least(0), "train.warmup_steps": _at_least(0),
    "train.val_fraction": (lambda v: 0 < v < 1, "in (0, 1)"), "train.shift_prob": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "train.chans": _at_least(1), "train.test_time_shifts": _at_least(1),
    "train.num_pool_layers": (lambda v: 1 <= v <= 6, "in 1..6 (a 64x64 image halves at most 6 times)"),
    "adapt.steps": _at_least(0), "adapt.batch_size": _at_least(1), "adapt.lr": (lambda v: v > 0, "> 0"),
    "adapt.synthetic_weight": _at_least(0), "adapt.refresh_every": _at_least(1), "adapt.num_anchors": _at_least(1),
    "adapt.folds": (lambda v: v == 0 or v >= 2, "0 (no cross-fitted check) or >= 2"),
}


def _flag(section: str, name: str) -> str:
    prefix = dict((s, p) for s, _, p in SECTIONS)[section]
    return "--" + prefix + name.replace("_", "-")


def network_bytes(chans: int, num_pool_layers: int) -> int:
    """Rough memory of training an :class:`~mri_inpaint.model.InpaintNet` (weights, gradients, AdamW moments)."""
    params = 36 * chans ** 2 * sum(4 ** level for level in range(num_pool_layers + 1))
    return 16 * params


def memory_bytes() -> int:
    """The machine's physical memory (bytes; a large number where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def validate_config(cfg, args: argparse.Namespace) -> None:
    """Refuse, before any work, settings out of range, unknown heads, and networks that cannot fit memory.

    Raises:
        ValueError: one line naming the flag, the value and what it must be.
    """
    from .sources.heads import HEAD_NAMES

    for key, (test, what) in RANGES.items():
        section, name = key.split(".")
        part = getattr(cfg, section)
        if section in getattr(args, "sections", ("data", "train", "adapt")) and hasattr(part, name) and not test(getattr(part, name)):
            raise ValueError(f"{_flag(section, name)} {getattr(part, name)!r}: must be {what}; pass such a value")
    data = cfg.data
    if data.heads != "all":
        heads = [h.strip() for h in data.heads.split(",") if h.strip()]
        unknown = [h for h in heads if h not in HEAD_NAMES]
        if unknown or not heads:
            raise ValueError(f"--heads {data.heads!r}: unknown head(s) {unknown}; choose from "
                             f"{', '.join(HEAD_NAMES)} (comma-separated) or 'all'")
    else:
        heads = list(HEAD_NAMES)
    if data.held_out_head and data.held_out_head not in HEAD_NAMES:
        raise ValueError(f"--held-out-head {data.held_out_head!r}: choose one of {', '.join(HEAD_NAMES)} "
                         "(or '' for none)")
    if not [h for h in heads if h != data.held_out_head]:
        raise ValueError(f"--heads {data.heads!r} leaves no head to train on once --held-out-head "
                         f"{data.held_out_head!r} is set aside: add heads or choose another --held-out-head")
    if "train" in getattr(args, "sections", ("train",)):
        t = cfg.train
        if t.test_time_shifts > 2 ** t.num_pool_layers:
            raise ValueError(f"--test-time-shifts {t.test_time_shifts}: must be in 1..{2 ** t.num_pool_layers} "
                             f"(2 ** --num-pool-layers)")
        need, have = network_bytes(t.chans, t.num_pool_layers), memory_bytes()
        if need > have // 2:
            raise ValueError(f"--chans {t.chans} with --num-pool-layers {t.num_pool_layers} needs about "
                             f"{need / 2**30:.1f} GB to train, more than half of this machine's "
                             f"{have / 2**30:.1f} GB: choose a smaller --chans or --num-pool-layers")


def paths_from_args(args: argparse.Namespace) -> Paths:
    """The default paths with the flags given applied.

    Each preset has its own run folder; a preset not in ``FINAL_PRESETS`` (``smoke``) writes
    its fill into that folder, never over the deliverable.
    """
    name = getattr(args, "preset", "full")
    paths = Paths.default(run_name=preset_run_name(name))
    changes = {k: getattr(args, k) for k in ("data_dir", "run_dir", "output", "figures")
               if getattr(args, k, None) is not None}
    paths = paths.replace(**changes)
    if name not in FINAL_PRESETS and getattr(args, "output", None) is None:
        paths = paths.replace(output=paths.run_dir / paths.output.name)
    return paths


def _inputs(args):
    from .pipeline import load_inputs

    return load_inputs(args.test_set, args.mask)


def _device(args):
    from .utils import pick_device

    return pick_device(args.device or "auto")


def _folders(paths: Paths, *, run_dir: bool = True) -> None:
    """Refuse, before any work, data and run folders that cannot be written."""
    require_writable(paths.data_dir, flag="--data-dir", folder=True)
    if run_dir:
        require_writable(paths.run_dir, flag="--run-dir", folder=True)


IMAGE_BYTES = 4 * 64 * 64  # one float32 64x64 image


def _require_cache_space(cfg, paths: Paths) -> None:
    """Refuse, before any work, a cache that would not fit the disk of ``--data-dir``."""
    from .cache import cached_count
    from .pipeline import image_cache, image_source

    source = image_source(cfg.data, paths)
    need = 0
    for n, seed, root in ((cfg.data.num_images, cfg.data.image_seed, paths.data_dir),
                          (cfg.data.eval_images, cfg.data.eval_seed, paths.data_dir / "eval")):
        cache = image_cache(source, n, seed, root)
        need += max(0, n - cached_count(cache.root)) * (IMAGE_BYTES + 64)
    require_free_space(paths.data_dir, need, flag="--data-dir")
    held = (cfg.data.num_images + cfg.data.eval_images) * IMAGE_BYTES  # all are held in memory at once
    if held > memory_bytes() // 2:
        raise ValueError(f"--num-images {cfg.data.num_images}: the images need {held / 2**30:.1f} GB of memory, more "
                         "than half of this machine's: choose a smaller --num-images")


def _require_run_dir_space(cfg, paths: Paths) -> None:
    """Refuse, before any work, a run folder whose checkpoints would not fit its disk."""
    require_free_space(paths.run_dir, 3 * network_bytes(cfg.train.chans, cfg.train.num_pool_layers) // 4 + 2**20,
                       flag="--run-dir")


def _require_fresh_or_resumable(cfg, paths: Paths, resume: bool) -> None:
    """Before any work: a run folder's run is resumed only with its own settings, never overwritten."""
    from dataclasses import asdict

    from .checkpoint import require_resumable

    if not resume:
        if (paths.run_dir / "last.pt").exists():
            raise FileExistsError(f"{paths.run_dir} already holds a training run: pass --resume to continue it, "
                                  "or choose another --run-dir (nothing was overwritten)")
        return
    require_resumable(paths.run_dir, asdict(cfg))


# ---------------------------------------------------------------- subcommands
def cmd_info(args) -> int:
    from .data import describe_test_set
    from .masks import fit_stripes

    cfg, paths = config_from_args(args), paths_from_args(args)
    test = _inputs(args)
    stripes = fit_stripes(test.mask)
    print(f"test set: {test.path}")
    for k, v in describe_test_set(test.images, test.mask).items():
        print(f"  {k}: {v}")
    print(f"mask: {int(test.mask.sum())} missing pixels of {test.mask.size} ({test.mask.mean():.1%})")
    print(f"stripes: period {stripes.period:.4f} px, width {stripes.width:g} px, slant {stripes.slant:+.4f} px/row, "
          f"phase {stripes.phase:.4f}; the ideal pattern matches {1 - len(stripes.exceptions) / test.mask.size:.1%} "
          f"of pixels ({len(stripes.exceptions)} exceptions stored for an exact round trip)")
    from .course_setup import ensure_course_importable
    from .pipeline import image_cache, image_source

    installed = ensure_course_importable(paths.course_dir)  # what course-setup installed counts
    if installed:
        try:
            importlib.import_module("ese_invldm")
            print("training source: course generator (ese_invldm) installed")
        except Exception as exc:  # the package is there but its own imports fail (run.sh not run)
            print(f"training source: course generator (ese_invldm) installed but it does not import ({exc}); "
                  "run the bundle's run.sh as course-setup printed, then try again")
    else:
        print("training source: embedded anatomy (course generator not installed)")
    source = image_source(cfg.data, paths)
    cache = image_cache(source, cfg.data.num_images, cfg.data.image_seed, paths.data_dir)
    state = "complete" if cache.is_complete() else "not built yet (or incomplete): `run` or `train` builds it"
    print(f"training-image cache: {cache.describe()['path']} ({cfg.data.num_images} images): {state}")
    return 0


def cmd_generate(args) -> int:
    from .cache import ImageCache, cached_count
    from .pipeline import image_source

    if args.n < 1:
        raise ValueError(f"--n {args.n}: the number of images must be >= 1")
    cfg, paths = config_from_args(args), paths_from_args(args)
    require_writable(args.out, flag="--out", folder=True)
    need = max(0, args.n - cached_count(args.out)) * (IMAGE_BYTES + 64)
    if args.n * IMAGE_BYTES > memory_bytes() // 2:
        raise ValueError(f"--n {args.n}: {args.n * IMAGE_BYTES / 2**30:.1f} GB of images do not fit in half of this "
                         f"machine's memory ({memory_bytes() / 2**30:.1f} GB): choose a smaller --n")
    require_free_space(args.out, need, flag="--out")
    source = image_source(cfg.data, paths)
    cache = ImageCache(args.out, source_name=source.name, source_params=source.params(), seed=args.seed,
                       count=args.n, overwrite=args.overwrite)
    try:
        images = cache.build(source, progress=not args.quiet)
    except ValueError as exc:
        if "does not match the settings" not in str(exc):
            raise
        raise ValueError(str(exc).replace("(--data-dir)", "(--out), or pass --overwrite to replace it")) from exc
    print(f"{len(images)} images from the {source.name!r} source in {args.out}")
    return 0


def cmd_train(args) -> int:
    from .pipeline import train_or_resume, training_images

    cfg, paths = config_from_args(args), paths_from_args(args)
    _folders(paths)
    test = _inputs(args)
    _require_fresh_or_resumable(cfg, paths, args.resume)
    _require_cache_space(cfg, paths)
    _require_run_dir_space(cfg, paths)
    images = training_images(cfg, paths, progress=not args.quiet)
    _, state = train_or_resume(cfg, images, test, paths, progress=not args.quiet, resume=args.resume)
    best = max(row["val_psnr_gaps"] for row in state["history"])
    print(f"trained {len(state['history'])} epochs; best validation PSNR on the gaps {best:.2f} dB "
          f"(checkpoints in {paths.run_dir})")
    return 0


def cmd_adapt(args) -> int:
    from .checkpoint import build_model, load_checkpoint
    from .pipeline import adapt_to_test_images, anchor_images, check_network, export_final, training_images

    cfg, paths = config_from_args(args), paths_from_args(args)
    _folders(paths)
    test = _inputs(args)
    weights = args.weights or paths.run_dir / "best.pt"
    inputs = {"--weights": weights, "--test-set": test.path, "--mask": test.mask_path}
    require_writable(args.output, flag="--output", suffix=".pt", overwrite=args.overwrite, inputs=inputs)
    state = load_checkpoint(weights)
    model = build_model(state, _device(args))
    _require_cache_space(cfg, paths)
    anchors = anchor_images(training_images(cfg, paths, progress=not args.quiet), cfg.adapt)
    adapted, cross = adapt_to_test_images(cfg, model, test, anchors, paths, progress=not args.quiet)
    before, after = check_network(model, test), check_network(adapted, test)
    export_final(cfg, adapted, state, {"real_check_in_sample": after, "cross_fitted_check": cross}, paths,
                 args.output, flag="--output", overwrite=args.overwrite, inputs=inputs)
    if cross is not None:
        print(f"real-image check, cross-fitted (adapted on other test images): {cross['before']['psnr']:.2f} -> "
              f"{cross['after']['psnr']:.2f} dB")
    print(f"real-image check {before['psnr']:.2f} -> {after['psnr']:.2f} dB (in-sample: the adapted network was "
          f"trained on these pixels); wrote {args.output}")
    return 0


def cmd_evaluate(args) -> int:
    from .checkpoint import load_model
    from .evaluate import compare_methods, format_table, methods_table
    from .paths import keep_copy
    from .pipeline import new_slices
    from .utils import atomic_write

    cfg, paths = config_from_args(args), paths_from_args(args)
    require_writable(paths.data_dir, flag="--data-dir", folder=True)
    test = _inputs(args)
    if args.out:
        require_writable(args.out, flag="--out", overwrite=args.overwrite,
                         inputs={"--weights": args.weights, "--test-set": test.path, "--mask": test.mask_path})
    networks = {"U-Net (ours)": load_model(args.weights, _device(args))} if args.weights else {}
    clean = new_slices(cfg, paths)
    rows = compare_methods(clean, test.mask, methods_table(networks))
    print(f"new slices of the training heads: {len(clean)}, exact test mask ({int(test.mask.sum())} missing pixels)")
    print(format_table(rows))
    if args.out:
        if args.out.exists():
            log.info("kept the previous %s as %s", args.out, keep_copy(args.out))
        atomic_write(args.out, lambda tmp: tmp.write_text(json.dumps(rows, indent=1)))
    return 0


def cmd_check(args) -> int:
    from .checkpoint import load_model
    from .pipeline import check_network

    test = _inputs(args)
    result = check_network(load_model(args.weights, _device(args)), test)
    print(json.dumps(result, indent=1))
    print("note: for weights self-trained on these same images (the committed ones are) this check is in-sample; "
          "bench/adapt.py reports the cross-fitted figure")
    return 0


def cmd_fill(args) -> int:
    from .checkpoint import load_model
    from .fill import require_output_path
    from .pipeline import fill_and_write, load_inputs

    device = _device(args)
    if args.input.is_dir():
        raise ValueError(f"input {args.input} is a directory: pass a .npy file as --input")
    if not args.input.is_file():
        raise FileNotFoundError(f"input {args.input} not found: verify the path passed with --input")
    inputs = {"--input": args.input, "--mask": args.mask, "--weights": args.weights}
    require_output_path(args.output, overwrite=args.overwrite, inputs=inputs)  # before any work
    test = load_inputs(args.input, args.mask)  # validates first
    require_free_space(args.output, (test.images if test.original is None else test.original).nbytes + 2**16,
                       flag="--output")
    flat = np.load(args.input, mmap_mode="r", allow_pickle=False).ndim == 3  # keep the caller's layout
    filled = fill_and_write(load_model(args.weights, device), test, args.output, overwrite=args.overwrite,
                            squeeze=flat, deliverable_ok=False)
    print(f"filled {len(filled)} images ({int(test.mask.sum())} missing pixels each) -> {args.output} (verified)")
    return 0


def cmd_run(args) -> int:
    from .check import format_check_table
    from .evaluate import format_table
    from .pipeline import demo_inputs, output_path, run

    cfg, paths = config_from_args(args), paths_from_args(args)
    final_preset = args.preset in FINAL_PRESETS
    if not final_preset and same_file(paths.output, deliverable()):
        raise ValueError(f"the {args.preset} preset never writes the deliverable {deliverable().name}: "
                         "leave out --output (its fill goes to its run folder) or pass another --output")
    try:
        test = _inputs(args)
    except FileNotFoundError as exc:
        if args.test_set:
            raise
        log.warning("%s", exc)
        paths = paths.replace(run_dir=paths.run_dir.with_name(paths.run_dir.name + "-demo"))  # never a real run's
        print("no test set found: running on a DEMO input (embedded anatomy + the default stripe mask) in "
              f"{paths.run_dir}; its fill goes to {paths.run_dir / 'demo_nogaps.npy'}, never to {paths.output}")
        test, _ = demo_inputs()
    # every output guarded before hours of training
    _folders(paths)
    inputs = {"--test-set": test.path, "--mask": test.mask_path}
    out = output_path(paths, test)
    deliverable_ok = final_preset and not test.demo
    default_output = args.output is None or (deliverable_ok and same_file(args.output, deliverable()))
    require_writable(out, flag="--output", suffix=".npy", overwrite=args.overwrite or default_output or test.demo,
                     inputs=inputs, deliverable_ok=deliverable_ok)
    if args.export is not None:
        require_writable(args.export, flag="--export", suffix=".pt", overwrite=args.overwrite, inputs=inputs)
        if same_file(args.export, out):
            raise ValueError(f"--export {args.export} is also the --output file: choose another --export")
    figures = args.figures or paths.run_dir / "figures"
    require_writable(figures, flag="--figures", folder=True, inputs=inputs, tracked_ok=False)
    _require_fresh_or_resumable(cfg, paths, True)
    _require_cache_space(cfg, paths)
    _require_run_dir_space(cfg, paths)
    require_free_space(out, test.images.nbytes * 2 + 2**16, flag="--output")
    metrics = run(cfg, paths, test, export=args.export, progress=not args.quiet, figures_dir=figures,
                  deliverable_ok=deliverable_ok, overwrite=args.overwrite)
    rows, cross = list(metrics["real_check"]), metrics["cross_fitted_check"]
    if cross is not None:  # the honest figure: each fold checked by networks adapted on the other folds
        rows.append({"method": "U-Net, self-trained, cross-fitted", **cross["after"]})
    print(format_table(metrics["new_slices"]))
    print(f"held-out head {cfg.data.held_out_head} (never trained on; the final fill is the best network row: "
          f"{metrics['fill_choice']['fill']})\n" + format_table(metrics["held_out_head"]))
    print(format_check_table(rows) + "\n(the final row is in-sample when it was self-trained on these pixels; "
          "the cross-fitted row is the honest estimate)")
    note = "" if final_preset else f"; the {args.preset} preset never writes {deliverable().name}"
    print(f"wrote {metrics['output']} ({'DEMO input' if test.demo else test.path}){note}; "
          f"metrics in {paths.run_dir / 'metrics.json'}, figures in {figures}")
    return 0


def cmd_course_setup(args) -> int:
    from .course_setup import install_bundle

    import zipfile

    try:
        folder = install_bundle(args.bundle, paths_from_args(args).course_dir)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"--bundle {args.bundle} is not a readable zip file ({exc}): it is truncated or not the "
                         "course's cw1_files.zip; download it again and pass it with --bundle") from exc
    run_sh = folder.parent / "run.sh"
    print(f"course generator installed from {args.bundle}: ese_invldm importable from {folder}")
    if run_sh.is_file():
        print(f"its requirements are not installed yet; install them as on Colab with:\n"
              f"  (cd {shlex.quote(str(run_sh.parent))} && bash run.sh)")
    return 0


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    fmt = HelpFormatter
    parser = Parser(prog="mri-inpaint", formatter_class=fmt,
                                     description="Fill the missing stripes of 64x64 head-MRI slices.")
    common = Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info logs")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.commands = sub.choices

    def command(name, func, text, *, inputs=False, data_dir=False, run_dir=False):
        p = sub.add_parser(name, help=text, description=text, formatter_class=fmt, parents=[common])
        if inputs:
            p.add_argument("--test-set", type=Path, help="corrupted test images .npy (N,1,64,64) in [0,1]; "
                           "default: $MRI_TEST_SET, ./test_set.npy, ../shared/test_set.npy")
            p.add_argument("--mask", type=Path, help="bool (64,64) .npy, True = missing; default: inferred")
        if data_dir:
            p.add_argument("--data-dir", type=Path, help="folder of image caches (default: data/ of the project)")
        if run_dir:
            p.add_argument("--run-dir", type=Path, help="folder of checkpoints and logs (default: runs/main)")
        p.set_defaults(func=func)
        return p

    def weights(p, default=DEFAULT_WEIGHTS):
        p.add_argument("--weights", type=Path, default=default, help="trained weights (.pt)")

    p = command("info", cmd_info, "test-set statistics, mask, stripe parameters, training-image cache", inputs=True,
                data_dir=True)
    add_config_flags(p, SECTIONS[:1], device=False)

    p = command("generate", cmd_generate, "fill a resumable image cache from the image source", data_dir=True)
    p.add_argument("--n", type=int, required=True, help="number of images")
    p.add_argument("--out", type=Path, required=True, help="cache folder")
    p.add_argument("--seed", type=int, default=1234, help="generation seed")
    p.add_argument("--overwrite", action="store_true", help="replace a cache made with other settings")
    add_config_flags(p, SECTIONS[:1], device=False)

    p = command("train", cmd_train, "train the inpainting U-Net (resumable)", inputs=True, data_dir=True,
                run_dir=True)
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    add_config_flags(p, SECTIONS[:2])

    p = command("adapt", cmd_adapt, "self-train a network on the test images' observed pixels", inputs=True,
                data_dir=True, run_dir=True)
    p.add_argument("--weights", type=Path, help="trained weights (.pt); default: best.pt of --run-dir (runs/main)")
    p.add_argument("--output", type=Path, required=True, help="where to save the adapted weights (.pt)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    add_config_flags(p, (SECTIONS[0], SECTIONS[2]))

    p = command("evaluate", cmd_evaluate,
                "quality table on new slices of the training heads with the exact test mask", inputs=True, data_dir=True)
    weights(p)
    p.add_argument("--out", type=Path, help="also write the rows as JSON here")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file (a copy is kept)")
    add_config_flags(p, SECTIONS[:1])

    p = command("check", cmd_check, "label-free check on the real test images' observed pixels", inputs=True)
    weights(p)
    p.add_argument("--device", default=None, help="'auto' (CUDA if available), 'cpu' or 'cuda' (default: auto)")

    p = command("fill", cmd_fill, "fill the gaps of any corrupted image stack")
    p.add_argument("--input", type=Path, required=True, help="corrupted images .npy, (N,1,64,64) or (N,64,64)")
    p.add_argument("--output", type=Path, required=True, help="where to write the filled .npy")
    p.add_argument("--mask", type=Path, help="bool (64,64) .npy, True = missing; default: inferred")
    weights(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    p.add_argument("--device", default=None, help="'auto' (CUDA if available), 'cpu' or 'cuda' (default: auto)")

    p = command("run", cmd_run, "the whole job: images, training, adaptation, evaluation, filling", inputs=True,
                data_dir=True, run_dir=True)
    p.add_argument("--output", type=Path, help="filled test set .npy (default: test_set_nogaps.npy of the project)")
    p.add_argument("--figures", type=Path, help="folder for the run's figures (default: RUN_DIR/figures)")
    p.add_argument("--export", type=Path, help="also save the final weights (small file) here")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --output or --export file you name (a copy is kept under runs/)")
    add_config_flags(p)

    p = command("course-setup", cmd_course_setup, "install the course's diffusion generator from its bundle",
                data_dir=True)
    p.add_argument("--bundle", required=True, help="path or http(s) URL of cw1_files.zip (or its unpacked folder)")
    return parser


def error_line(exc: BaseException) -> str:
    """``exc`` as one line: OS errors as "reason: path (hint)", other messages with newlines folded."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        text = (f"{exc.strerror or 'No space left on device'}: {exc.filename or ''} (the disk is full: free some space "
                "or write elsewhere, e.g. with --output, --run-dir or --data-dir; the previous file, if any, is "
                "unchanged)")
    elif isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        text = f"{exc.strerror}: {exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 else "")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            text += " (permission denied or read-only: choose another path, or fix its permissions)"
        else:
            text += " (verify that path and its permissions, or choose another one)"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (errors: one line on stderr, status 2, no traceback).

    An unexpected error is reported the same way; set ``MRI_INPAINT_TRACEBACK=1`` to see its traceback.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand's parser, so the hint names its --help
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, OSError, ImportError, RuntimeError) as exc:
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("MRI_INPAINT_TRACEBACK"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {error_line(exc)} (set MRI_INPAINT_TRACEBACK=1 for the "
              "traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again (with --resume for train) to continue", file=sys.stderr)
        return 130
