"""Leave-one-head-out: train on every embedded head but one, score on the held-out head.

    python bench/loho.py [--heads colin27,robex,itk] [--num-images 8000] [--epochs 2]

For each real individual head, a network is trained (short run, same settings otherwise) on
the other heads, then scored on 200 slices of the held-out head corrupted with the exact
test mask (PSNR/SSIM on the gaps and on the whole image) against row-wise linear and
biharmonic inpainting, and by the label-free check on the real test images, each with and
without the shift-averaged fill (a finished run in ``runs/loho/<head>/`` is reused). A head the
network has never seen is what every test image is: this is the project's best labelled
proxy for the real task. Networks are kept in ``runs/loho/<head>/`` (``bench/adapt.py``
reuses them). Writes ``bench/results/loho.json`` and prints a Markdown table.

A variant of the embedded source (a candidate augmentation) is judged the same way:

    python bench/loho.py --heads robex,itk --tag sharpen --anatomy '{"sharpen_range": [0, 0.8]}'

and so is a variant of the training (``--train``: TrainConfig overrides, e.g. '{"shift_prob": 0.6}'),
or of its length (``--num-images 20000 --epochs 3 --tag full6``: the final run's length).

"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

from mri_inpaint.adapt import real_image_check
from mri_inpaint.config import Paths, preset, with_overrides
from mri_inpaint.evaluate import compare_methods, methods_table
from mri_inpaint.pipeline import image_cache, load_inputs, train_or_resume, training_images
from mri_inpaint.sources import AnatomyParams, AnatomySource
from mri_inpaint.sources.heads import HEADS

#: Heads that are one person's scan (the averaged templates are not held out: no test image is an average).
INDIVIDUAL_HEADS = tuple(name for name, spec in HEADS.items() if spec.kind == "single")

RESULTS = Path(__file__).resolve().parent / "results"
HELD_OUT_IMAGES, HELD_OUT_SEED = 200, 4242
#: The held-out slices' variation, fixed here so that a change of the source's defaults (a variant
#: adopted) leaves the evaluation images alone: the defaults of 2026-11-29 (elastic warp 0.05).
HELD_OUT_ANATOMY = {"elastic_frac": 0.05}


def held_out_images(head: str, n: int = HELD_OUT_IMAGES, seed: int = HELD_OUT_SEED):
    """Clean slices of one head only, with fixed variation (by default a seed never used for training)."""
    return AnatomySource(AnatomyParams.from_overrides(HELD_OUT_ANATOMY, heads=(head,))).sample(n, seed=seed)


def short_run_config(heads: list[str], num_images: int, epochs: int, train: dict | None = None):
    """Settings of a run on ``heads`` of the given length, ``train`` overriding TrainConfig."""
    return with_overrides(preset(), data={"source": "anatomy", "heads": ",".join(heads), "num_images": num_images},
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", default=",".join(INDIVIDUAL_HEADS), help="heads to hold out, one at a time")
    parser.add_argument("--num-images", type=int, default=8000, help="training images per run")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run")
    parser.add_argument("--anatomy", type=json.loads, default={},
                        help='a variant of the embedded source: JSON overrides of AnatomyParams, e.g. '
                             '\'{"sharpen_range": [0, 0.8]}\' (runs go to runs/loho-<tag>/)')
    parser.add_argument("--train", type=json.loads, default={},
                        help='a variant of the training: JSON overrides of TrainConfig, e.g. \'{"shift_prob": 0.6}\'')
    parser.add_argument("--tag", default="", help="name of the variant (required with --anatomy/--train or another length)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/loho[-tag].json)")
    args = parser.parse_args(argv)
    default_length = (args.num_images, args.epochs) == (parser.get_default("num_images"), parser.get_default("epochs"))
    if (args.anatomy or args.train or not default_length) and not args.tag:
        parser.error("a variant (--anatomy, --train, or another --num-images/--epochs) needs a --tag to name it")
    out = args.out or RESULTS / (f"loho-{args.tag}.json" if args.tag else "loho.json")
    test = load_inputs()
    results = {"settings": {"num_images": args.num_images, "epochs": args.epochs, "held_out_images": HELD_OUT_IMAGES,
                            "held_out_anatomy": HELD_OUT_ANATOMY, "anatomy": args.anatomy, "train": args.train}, "heads": {}}
    for head in args.heads.split(","):
        cfg = loho_config(head, args.num_images, args.epochs, args.train)
        paths = Paths.default(run_name=f"loho-{args.tag}/{head}" if args.tag else f"loho/{head}")
        t0 = time.perf_counter()
        model, state = train_or_resume(cfg, loho_images(cfg, paths, args.anatomy), test, paths, progress=False)
        plain, shifted = copy.deepcopy(model), copy.deepcopy(model)
        plain.test_time_shifts, shifted.test_time_shifts = 1, cfg.train.test_time_shifts
        rows = compare_methods(held_out_images(head), test.mask,
                               methods_table({"U-Net": plain, "U-Net, shift-averaged": shifted}))
        checks = {name: real_image_check(net, test.images, test.mask)["psnr"] for name, net in
                  (("real_check_psnr", plain), ("real_check_psnr_shift_averaged", shifted))}
        results["heads"][head] = {"rows": rows, **checks, "trained_on": cfg.data.heads,
                                  "minutes": (time.perf_counter() - t0) / 60}
        by = {r["method"]: r for r in rows}
        print(f"{head}: U-Net {by['U-Net']['psnr_gaps']:.2f} dB, biharmonic {by['biharmonic']['psnr_gaps']:.2f} dB "
              f"({by['U-Net']['psnr_gaps'] - by['biharmonic']['psnr_gaps']:+.2f}); real check "
              f"{results['heads'][head]['real_check_psnr']:.2f} dB", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))

    print("\n| held-out head | row-wise PSNR gaps | biharmonic | U-Net | U-Net - biharmonic | U-Net SSIM image "
          "| real-image check | U-Net, shift-averaged | real-image check, shift-averaged |"
          "\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for head, r in results["heads"].items():
        by = {row["method"]: row for row in r["rows"]}
        print(f"| {head} | {by['row-wise linear']['psnr_gaps']:.2f} | {by['biharmonic']['psnr_gaps']:.2f} | "
              f"{by['U-Net']['psnr_gaps']:.2f} | {by['U-Net']['psnr_gaps'] - by['biharmonic']['psnr_gaps']:+.2f} | "
              f"{by['U-Net']['ssim_image']:.4f} | {r['real_check_psnr']:.2f} | "
              f"{by['U-Net, shift-averaged']['psnr_gaps']:.2f} | {r['real_check_psnr_shift_averaged']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
