"""Command-line interface: ``python -m mri_inpaint {info,generate,train,adapt,evaluate,check,fill,run,course-setup}``."""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from .pipeline import (DATA_DIR, EVAL_COUNT, FIGURES, OUTPUT, RUNS_DIR, WEIGHTS, demo_inputs, eval_images,
                       load_inputs, training_images)

log = logging.getLogger("mri_inpaint")


# ---------------------------------------------------------------- subcommands
def cmd_info(args) -> int:
    from .data import describe_test_set
    from .masks import fit_stripes
    from .sources import course_generator_available

    path, images, mask = load_inputs(args.test_set, args.mask)
    stats = describe_test_set(images, mask)
    stripes = fit_stripes(mask)
    print(f"test set: {path}")
    for k, v in stats.items():
        print(f"  {k}: {v}")
    print(f"mask: {int(mask.sum())} missing pixels of {mask.size} ({mask.mean():.1%})")
    print(f"stripes: period {stripes.period:.4f} px, width {stripes.width:g} px, slant {stripes.slant:+.4f} px/row, "
          f"phase {stripes.phase:.4f}; the ideal pattern matches {1 - len(stripes.exceptions) / mask.size:.1%} "
          f"of pixels ({len(stripes.exceptions)} exceptions stored for an exact round trip)")
    print("training source: " + ("course generator (ese_invldm) installed" if course_generator_available()
                                 else "embedded anatomy (course generator not installed)"))
    return 0


def cmd_generate(args) -> int:
    from .course_setup import ensure_course_importable
    from .sources import get_source

    ensure_course_importable(args.data_dir / "course")
    from .cache import ImageCache
    from .sources import course_generator_available

    name = args.source if args.source != "auto" else ("course" if course_generator_available() else "anatomy")
    kwargs = {} if name == "anatomy" else dict(
        num_inference_steps=args.steps, scheduler=args.scheduler, temperature=args.temperature,
        batch_size=args.batch_size)
    source = get_source(name, **kwargs)
    cache = ImageCache(args.out, source_name=source.name, source_params=source.params(), seed=args.seed,
                       count=args.n, overwrite=args.overwrite)
    images = cache.build(source, progress=not args.quiet)
    print(f"{len(images)} images from the {source.name!r} source in {args.out}")
    return 0


def train_config(args):
    from .train import TrainConfig

    cfg = TrainConfig()
    overrides = {k: getattr(args, k) for k in ("epochs", "num_images", "batch_size", "lr", "seed", "device",
                                                 "source", "chans", "num_pool_layers")
                 if getattr(args, k, None) is not None}
    return replace(cfg, **overrides)


def cmd_train(args) -> int:
    from .data import find_test_set, load_test_set
    from .masks import infer_mask
    from .train import export_weights, train

    cfg = train_config(args)
    if args.mask:
        from .data import load_mask
        mask = load_mask(args.mask)
    else:
        mask = infer_mask(load_test_set(find_test_set(args.test_set)))
    images = training_images(cfg, args.data_dir, progress=not args.quiet)
    state = train(cfg, images, mask, args.run_dir, resume=args.resume, progress=not args.quiet)
    best = state["best_val"]
    print(f"trained {len(state['history'])} epochs; best validation PSNR on the gaps {best:.2f} dB "
          f"(checkpoints in {args.run_dir})")
    if args.export:
        from .train import load_checkpoint
        best_state = load_checkpoint(Path(args.run_dir) / "best.pt")
        export_weights(best_state, args.export, {"val": best_state["history"][best_state["epoch"]]})
        print(f"exported weights to {args.export}")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import compare_methods, default_methods, format_table
    from .train import load_model
    from .utils import pick_device

    _, _, mask = load_inputs(args.test_set, args.mask)
    model = load_model(args.weights, pick_device(args.device)) if args.weights else None
    clean = eval_images(args.data_dir, args.n)
    rows = compare_methods(clean, mask, default_methods(model, mask))
    print(f"held-out embedded images: {len(clean)}, exact test mask ({int(mask.sum())} missing pixels)")
    print(format_table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


def cmd_check(args) -> int:
    from .adapt import real_image_check
    from .train import load_model
    from .utils import pick_device

    _, images, mask = load_inputs(args.test_set, args.mask)
    model = load_model(args.weights, pick_device(args.device))
    result = real_image_check(model, images, mask)
    print(json.dumps(result, indent=1))
    print("note: for weights self-trained on these same images (the committed ones are) this check is in-sample; "
          "bench/adapt.py reports the cross-fitted figure")
    return 0


def cmd_fill(args) -> int:
    from .data import load_mask, load_test_set
    from .evaluate import predict
    from .fill import write_filled
    from .masks import infer_mask
    from .train import load_model
    from .utils import pick_device

    images = load_test_set(args.input, require_mask_inference=args.mask is None)  # validates first
    input_ndim = np.load(args.input, mmap_mode="r", allow_pickle=False).ndim
    mask = load_mask(args.mask) if args.mask else infer_mask(images)
    model = load_model(args.weights, pick_device(args.device))
    filled = predict(model, images, mask)
    if input_ndim == 3:  # keep the caller's layout
        filled, images = filled[:, 0], images[:, 0]
    write_filled(args.output, filled, images, mask, input_path=args.input, overwrite=args.overwrite)
    print(f"filled {len(filled)} images ({int(mask.sum())} missing pixels each) -> {args.output} (verified)")
    return 0


def adapt_model(model, best_state: dict, images, mask, anchors, path: Path, steps: int, progress: bool):
    """Self-train ``model`` on the test images (or reuse ``path`` if it exists); return the adapted model."""
    from .adapt import AdaptConfig, self_train
    from .train import build_model, export_weights, load_checkpoint

    device = next(model.parameters()).device
    if path.exists():
        log.info("reusing the adapted weights in %s", path)
        return build_model(load_checkpoint(path, map_location=device), device)
    cfg = AdaptConfig(steps=steps)
    adapted = self_train(model, images, mask, anchors, cfg, progress=progress)
    export_weights({**best_state, "model": adapted.state_dict()}, path,
                   {"adaptation": asdict(cfg), "history": best_state.get("history", [])})
    return adapted


def cmd_adapt(args) -> int:
    from .adapt import real_image_check
    from .sources import AnatomySource
    from .train import build_model, load_checkpoint
    from .utils import pick_device

    _, images, mask = load_inputs(args.test_set, args.mask)
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} exists: pass --overwrite to replace it, or choose another --output")
    if args.output.exists():
        args.output.unlink()
    state = load_checkpoint(args.weights)
    model = build_model(state, pick_device(args.device))
    anchors = AnatomySource().sample(4000, seed=777)
    adapted = adapt_model(model, state, images, mask, anchors, args.output, args.steps, not args.quiet)
    before, after = real_image_check(model, images, mask), real_image_check(adapted, images, mask)
    print(f"real-image check {before['psnr']:.2f} -> {after['psnr']:.2f} dB (in-sample: the adapted model was "
          f"trained on these pixels; bench/adapt.py gives the cross-fitted figure); wrote {args.output}")
    return 0


def cmd_run(args) -> int:
    """The whole job: images, training (resumable), adaptation, evaluation, real-image check, filling, figures."""
    from .adapt import real_image_check
    from .baselines import biharmonic, row_interpolate_np, zero_fill
    from .evaluate import compare_methods, format_table, predict
    from .fill import write_filled
    from .train import build_model, export_weights, load_checkpoint, train
    from .utils import pick_device

    cfg = train_config(args)
    run_dir = Path(args.run_dir)
    demo = False
    try:
        path, images, mask = load_inputs(args.test_set, args.mask)
    except FileNotFoundError as exc:
        if args.test_set:
            raise
        log.warning("%s", exc)
        print("no test set found: running on a DEMO input (embedded anatomy + the default stripe mask)")
        images, mask, _ = demo_inputs()
        path, demo = None, True
    train_imgs = training_images(cfg, args.data_dir, progress=not args.quiet)
    state = train(cfg, train_imgs, mask, run_dir, resume=True, progress=not args.quiet)
    best = load_checkpoint(run_dir / "best.pt")
    model = build_model(best, pick_device(cfg.device))
    final = model
    if args.adapt_steps > 0:
        final = adapt_model(model, best, images, mask, train_imgs[: min(4000, len(train_imgs))],
                            run_dir / "adapted.pt", args.adapt_steps, not args.quiet)
    methods = {"zero fill": zero_fill, "row-wise linear": row_interpolate_np, "biharmonic": biharmonic,
               "U-Net, trained": lambda x, m: predict(model, x, m)}
    if final is not model:
        methods["U-Net, adapted (final)"] = lambda x, m: predict(final, x, m)
    rows = compare_methods(eval_images(args.data_dir), mask, methods)
    print(format_table(rows))
    check = {"trained": real_image_check(model, images, mask)}
    if final is not model:
        check["adapted_in_sample"] = real_image_check(final, images, mask)
    print("real-image check (PSNR on hidden observed pixels): "
          + ", ".join(f"{k} {v['psnr']:.2f} dB" for k, v in check.items()))
    filled = predict(final, images, mask)
    out = args.output if not demo else run_dir / "demo_nogaps.npy"
    if out.exists():
        backup = run_dir / f"previous_{out.name}"
        shutil.copy2(out, backup)
        print(f"kept the previous {out} as {backup}")
    write_filled(out, filled, images, mask, input_path=path)
    metrics = {"evaluation": rows, "real_image_check": check, "history": state["history"],
               "config": asdict(cfg), "adapt_steps": args.adapt_steps, "demo_input": demo}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    if args.export:
        final_state = {**best, "model": final.state_dict()}
        export_weights(final_state, args.export, {"evaluation": rows, "real_image_check": check,
                                                  "history": state["history"]})
    try:
        from .figures import save_run_figures
        save_run_figures(state["history"], images, filled, mask, args.figures)
    except ImportError as exc:  # matplotlib missing: figures are optional
        log.warning("figures skipped: %s", exc)
    print(f"wrote {out} ({'demo input' if demo else path}); metrics in {run_dir / 'metrics.json'}")
    return 0


def cmd_course_setup(args) -> int:
    from .course_setup import install_bundle

    folder = install_bundle(args.bundle, args.data_dir / "course")
    print(f"course generator installed from {args.bundle}: ese_invldm importable from {folder}; "
          "install its Python requirements as the course's run.sh does")
    return 0


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from .adapt import AdaptConfig

    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m mri_inpaint", formatter_class=fmt,
                                     description="Fill the missing stripes of 64x64 head-MRI slices.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info logs")
    sub = parser.add_subparsers(dest="command", required=True)

    def inputs(p):
        p.add_argument("--test-set", type=Path, help="corrupted test images .npy (N,1,64,64) in [0,1]; "
                       "default: $MRI_TEST_SET, ./test_set.npy, ../shared/test_set.npy")
        p.add_argument("--mask", type=Path, help="bool (64,64) .npy, True = missing; default: inferred from the images")

    def data_dir(p):
        p.add_argument("--data-dir", type=Path, default=DATA_DIR, help="folder of image caches")

    def device(p):
        p.add_argument("--device", default="auto", help="'auto' (CUDA if available), 'cpu' or 'cuda'")

    def training(p):
        from .train import TrainConfig

        d = TrainConfig()  # defaults shown in --help come from the one configuration object
        p.add_argument("--run-dir", type=Path, default=RUNS_DIR / "main", help="folder for checkpoints and logs")
        p.add_argument("--epochs", type=int, default=d.epochs, help="passes over the training images")
        p.add_argument("--num-images", type=int, default=d.num_images,
                       help="training images to generate, incl. validation")
        p.add_argument("--batch-size", type=int, default=d.batch_size, help="images per optimisation step")
        p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate (AdamW)")
        p.add_argument("--chans", type=int, default=d.chans, help="U-Net channels at full resolution")
        p.add_argument("--num-pool-layers", type=int, default=d.num_pool_layers, help="U-Net down-sampling steps")
        p.add_argument("--seed", type=int, default=d.seed, help="training seed")
        p.add_argument("--source", choices=("auto", "anatomy", "course"), default=d.source,
                       help="training-image source")
        p.add_argument("--export", type=Path, help="also save the best weights (small file) here")
        p.add_argument("--device", default=d.device, help="'auto' (CUDA if available), 'cpu' or 'cuda'")

    p = sub.add_parser("info", help="test-set statistics, mask and stripe parameters", formatter_class=fmt, parents=[common])
    inputs(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("generate", help="fill the resumable training-image cache", formatter_class=fmt, parents=[common])
    p.add_argument("--n", type=int, required=True, help="number of images")
    p.add_argument("--out", type=Path, required=True, help="cache folder")
    p.add_argument("--source", choices=("auto", "anatomy", "course"), default="auto", help="image source")
    p.add_argument("--seed", type=int, default=1234, help="generation seed")
    p.add_argument("--steps", type=int, default=50, help="course generator: inference steps")
    p.add_argument("--scheduler", choices=("ddim", "ddpm"), default="ddim", help="course generator: sampler")
    p.add_argument("--temperature", type=float, default=1.0, help="course generator: sampling temperature")
    p.add_argument("--batch-size", type=int, default=64, help="course generator: images per batch")
    p.add_argument("--overwrite", action="store_true", help="replace a cache made with other settings")
    data_dir(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="train the inpainting U-Net (resumable)", formatter_class=fmt, parents=[common])
    inputs(p)
    data_dir(p)
    training(p)
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="quality table on held-out images with the exact mask", formatter_class=fmt, parents=[common])
    inputs(p)
    data_dir(p)
    device(p)
    p.add_argument("--weights", type=Path, default=WEIGHTS, help="trained weights (.pt)")
    p.add_argument("--n", type=int, default=EVAL_COUNT, help="held-out images")
    p.add_argument("--out", type=Path, help="also write the rows as JSON here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("check", help="label-free check on the real test images' observed pixels",
                       formatter_class=fmt, parents=[common])
    inputs(p)
    device(p)
    p.add_argument("--weights", type=Path, default=WEIGHTS, help="trained weights (.pt)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("fill", help="fill the gaps of any corrupted image stack", formatter_class=fmt, parents=[common])
    p.add_argument("--input", type=Path, required=True, help="corrupted images .npy, (N,1,64,64) or (N,64,64)")
    p.add_argument("--output", type=Path, required=True, help="where to write the filled .npy")
    p.add_argument("--mask", type=Path, help="bool (64,64) .npy, True = missing; default: inferred")
    p.add_argument("--weights", type=Path, default=WEIGHTS, help="trained weights (.pt)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    device(p)
    p.set_defaults(func=cmd_fill)

    p = sub.add_parser("run", help="the whole job: images, training, evaluation, filling", formatter_class=fmt, parents=[common])
    inputs(p)
    data_dir(p)
    training(p)
    p.add_argument("--output", type=Path, default=OUTPUT, help="filled test set .npy")
    p.add_argument("--figures", type=Path, default=FIGURES, help="folder for figures")
    p.add_argument("--adapt-steps", type=int, default=AdaptConfig.steps,
                   help="self-training steps on the test images' observed pixels (0: none)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("adapt", help="self-train a network on the test images' observed pixels",
                       formatter_class=fmt, parents=[common])
    inputs(p)
    device(p)
    p.add_argument("--weights", type=Path, default=RUNS_DIR / "main" / "best.pt", help="trained weights (.pt)")
    p.add_argument("--output", type=Path, required=True, help="where to save the adapted weights (.pt)")
    p.add_argument("--steps", type=int, default=AdaptConfig.steps, help="self-training steps")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser("course-setup", help="install the course's diffusion generator from its bundle",
                       formatter_class=fmt, parents=[common])
    p.add_argument("--bundle", required=True, help="path or http(s) URL of cw1_files.zip (or its unpacked folder)")
    data_dir(p)
    p.set_defaults(func=cmd_course_setup)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (errors: one line on stderr, status 2)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError, ImportError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again (with --resume for train) to continue", file=sys.stderr)
        return 130
