"""Command line: ``mri-inpaint {info,generate,train,adapt,evaluate,check,fill,run,course-setup}``.

This module only parses arguments and calls :mod:`mri_inpaint.pipeline`. The settings'
flags are generated from the dataclasses in :mod:`mri_inpaint.config` (name, default of
the chosen ``--preset``, help from the field's comment).
"""
from __future__ import annotations

import argparse
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
from .paths import DEFAULT_WEIGHTS, Paths

log = logging.getLogger("mri_inpaint")

#: Config sections exposed as flags: (section, dataclass, flag prefix).
SECTIONS = (("data", DataConfig, ""), ("train", TrainConfig, ""), ("adapt", AdaptConfig, "adapt-"))


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the ``None`` of flags whose default comes from elsewhere."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


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
    return with_overrides(cfg, **overrides)


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


# ---------------------------------------------------------------- subcommands
def cmd_info(args) -> int:
    from .data import describe_test_set
    from .masks import fit_stripes
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

    cfg, paths = config_from_args(args), paths_from_args(args)
    installed = ensure_course_importable(paths.course_dir)  # what course-setup installed counts
    print("training source: " + ("course generator (ese_invldm) installed" if installed
                                 else "embedded anatomy (course generator not installed)"))
    source = image_source(cfg.data, paths)
    cache = image_cache(source, cfg.data.num_images, cfg.data.image_seed, paths.data_dir)
    state = "complete" if cache.is_complete() else "not built yet (or incomplete): `run` or `train` builds it"
    print(f"training-image cache: {cache.describe()['path']} ({cfg.data.num_images} images): {state}")
    return 0


def cmd_generate(args) -> int:
    from .cache import ImageCache
    from .pipeline import image_source

    cfg, paths = config_from_args(args), paths_from_args(args)
    source = image_source(cfg.data, paths)
    cache = ImageCache(args.out, source_name=source.name, source_params=source.params(), seed=args.seed,
                       count=args.n, overwrite=args.overwrite)
    images = cache.build(source, progress=not args.quiet)
    print(f"{len(images)} images from the {source.name!r} source in {args.out}")
    return 0


def cmd_train(args) -> int:
    from .pipeline import train_or_resume, training_images

    cfg, paths = config_from_args(args), paths_from_args(args)
    test = _inputs(args)
    images = training_images(cfg, paths, progress=not args.quiet)
    _, state = train_or_resume(cfg, images, test, paths, progress=not args.quiet, resume=args.resume)
    best = max(row["val_psnr_gaps"] for row in state["history"])
    print(f"trained {len(state['history'])} epochs; best validation PSNR on the gaps {best:.2f} dB "
          f"(checkpoints in {paths.run_dir})")
    return 0


def cmd_adapt(args) -> int:
    from .checkpoint import build_model, load_checkpoint
    from .fill import check_output
    from .pipeline import adapt_to_test_images, anchor_images, check_network, export_final, training_images

    cfg, paths = config_from_args(args), paths_from_args(args)
    check_output(args.output, overwrite=args.overwrite, suffix=".pt")
    test = _inputs(args)
    state = load_checkpoint(args.weights or paths.run_dir / "best.pt")
    model = build_model(state, _device(args))
    anchors = anchor_images(training_images(cfg, paths, progress=not args.quiet), cfg.adapt)
    adapted, cross = adapt_to_test_images(cfg, model, test, anchors, paths, progress=not args.quiet)
    before, after = check_network(model, test), check_network(adapted, test)
    export_final(cfg, adapted, state, {"real_check_in_sample": after, "cross_fitted_check": cross}, paths,
                 args.output)
    if cross is not None:
        print(f"real-image check, cross-fitted (adapted on other test images): {cross['before']['psnr']:.2f} -> "
              f"{cross['after']['psnr']:.2f} dB")
    print(f"real-image check {before['psnr']:.2f} -> {after['psnr']:.2f} dB (in-sample: the adapted network was "
          f"trained on these pixels); wrote {args.output}")
    return 0


def cmd_evaluate(args) -> int:
    from .checkpoint import load_model
    from .evaluate import compare_methods, format_table, methods_table
    from .pipeline import eval_images

    cfg, paths = config_from_args(args), paths_from_args(args)
    test = _inputs(args)
    networks = {"U-Net (ours)": load_model(args.weights, _device(args))} if args.weights else {}
    clean = eval_images(cfg, paths)
    rows = compare_methods(clean, test.mask, methods_table(networks))
    print(f"held-out images: {len(clean)}, exact test mask ({int(test.mask.sum())} missing pixels)")
    print(format_table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
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
    from .fill import check_output
    from .pipeline import fill_and_write, load_inputs

    device = _device(args)
    if args.input.is_dir():
        raise ValueError(f"input {args.input} is a directory: pass a .npy file as --input")
    if not args.input.is_file():
        raise FileNotFoundError(f"input {args.input} not found: check the path passed with --input")
    if args.output.resolve() == args.input.resolve():
        raise ValueError(f"refusing to overwrite the input {args.input}: choose another --output")
    check_output(args.output, overwrite=args.overwrite)  # before any work
    test = load_inputs(args.input, args.mask)  # validates first
    flat = np.load(args.input, mmap_mode="r", allow_pickle=False).ndim == 3  # keep the caller's layout
    filled = fill_and_write(load_model(args.weights, device), test, args.output, overwrite=args.overwrite,
                            squeeze=flat)
    print(f"filled {len(filled)} images ({int(test.mask.sum())} missing pixels each) -> {args.output} (verified)")
    return 0


def cmd_run(args) -> int:
    from .evaluate import format_check_table, format_table
    from .fill import check_output
    from .pipeline import demo_inputs, output_path, run

    cfg, paths = config_from_args(args), paths_from_args(args)
    deliverable = Paths.default().output
    if args.preset not in FINAL_PRESETS and paths.output.absolute() == deliverable.absolute():
        raise ValueError(f"the {args.preset} preset never writes the deliverable {deliverable}: "
                         "leave out --output (its fill goes to its run folder) or pass another --output")
    try:
        test = _inputs(args)
    except FileNotFoundError as exc:
        if args.test_set:
            raise
        log.warning("%s", exc)
        print("no test set found: running on a DEMO input (embedded anatomy + the default stripe mask); "
              f"its fill goes to {paths.run_dir / 'demo_nogaps.npy'}, never to {paths.output}")
        test, _ = demo_inputs()
    check_output(output_path(paths, test))  # before hours of training
    metrics = run(cfg, paths, test, export=args.export, progress=not args.quiet, figures_dir=args.figures)
    rows, cross = list(metrics["real_check"]), metrics["cross_fitted_check"]
    if cross is not None:  # the honest figure: each fold checked by networks adapted on the other folds
        rows.append({"method": "U-Net, self-trained, cross-fitted", **cross["after"]})
    print(format_table(metrics["held_out"]))
    print(f"held-out head {cfg.data.held_out_head} (never trained on; the final fill is the best network row: "
          f"{metrics['fill_choice']['fill']})\n" + format_table(metrics["held_out_head"]))
    print(format_check_table(rows) + "\n(the final row is in-sample when it was self-trained on these pixels; "
          "the cross-fitted row is the honest estimate)")
    note = "" if args.preset in FINAL_PRESETS else f"; the {args.preset} preset never writes {Paths.default().output.name}"
    print(f"wrote {metrics['output']} ({'DEMO input' if test.demo else test.path}){note}; "
          f"metrics in {paths.run_dir / 'metrics.json'}, figures in {args.figures or paths.run_dir / 'figures'}")
    return 0


def cmd_course_setup(args) -> int:
    from .course_setup import install_bundle

    folder = install_bundle(args.bundle, paths_from_args(args).course_dir)
    run_sh = folder.parent / "run.sh"
    print(f"course generator installed from {args.bundle}: ese_invldm importable from {folder}")
    if run_sh.is_file():
        print(f"its requirements are not installed yet; install them as on Colab with:\n"
              f"  (cd {shlex.quote(str(run_sh.parent))} && bash run.sh)")
    return 0


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    fmt = HelpFormatter
    parser = argparse.ArgumentParser(prog="mri-inpaint", formatter_class=fmt,
                                     description="Fill the missing stripes of 64x64 head-MRI slices.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info logs")
    sub = parser.add_subparsers(dest="command", required=True)

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

    p = command("evaluate", cmd_evaluate, "quality table on held-out images with the exact test mask",
                inputs=True, data_dir=True)
    weights(p)
    p.add_argument("--out", type=Path, help="also write the rows as JSON here")
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
    add_config_flags(p)

    p = command("course-setup", cmd_course_setup, "install the course's diffusion generator from its bundle",
                data_dir=True)
    p.add_argument("--bundle", required=True, help="path or http(s) URL of cw1_files.zip (or its unpacked folder)")
    return parser


def error_line(exc: BaseException) -> str:
    """``exc`` as one line: OS errors as "reason: path (hint)", other messages with newlines folded."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        text = f"{exc.strerror}: {exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 else "")
        text += " (check that path and its permissions, or choose another one)"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (errors: one line on stderr, status 2, no traceback).

    An unexpected error is reported the same way; set ``MRI_INPAINT_TRACEBACK=1`` to see its traceback.
    """
    args = build_parser().parse_args(argv)
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
