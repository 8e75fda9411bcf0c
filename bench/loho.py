"""Leave-one-head-out: train on every embedded head but one, score on the held-out head.

    python -m bench.loho [--heads colin27,robex,itk] [--variant NAME]

For each real individual head, a network is trained (short run: 8,000 images, 2 epochs, the
final settings otherwise) on the other heads, then scored on 200 slices of the held-out head
corrupted with the exact test mask (PSNR/SSIM on the gaps and on the whole image) against
row-wise linear and biharmonic inpainting, and by the label-free check on the real test
images, each with and without the shift-averaged fill (a finished run in ``runs/loho/<head>/``
is reused). A head the network has never seen is what every test image is: this is the
project's best labelled proxy for the real task. ``bench.adapt`` and ``bench.ceiling`` reuse
the networks. Writes ``bench/results/loho.json`` and prints a Markdown table.

A variant (of the embedded source, of the training, or of the run's length) is a named file
in ``bench/variants/`` and is judged the same way; its runs go to ``runs/loho-<name>/`` and its
results to ``bench/results/loho-<name>.json``::

    python -m bench.loho --heads robex,itk --variant elastic075
    python -m bench.loho --heads colin27,itk --variant full6     # the final run's length
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import (HELD_OUT_ANATOMY, HELD_OUT_IMAGES, INDIVIDUAL_HEADS, RESULTS, bench_paths,
                          held_out_images, load_variant, loho_config, loho_images, run_length)
from mri_inpaint.check import real_image_check
from mri_inpaint.evaluate import compare_methods, methods_table
from mri_inpaint.model import with_shifts
from mri_inpaint.pipeline import load_inputs, train_or_resume

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", default=",".join(INDIVIDUAL_HEADS), help="heads to hold out, one at a time")
    parser.add_argument("--variant", help="name of a file in bench/variants/ (default: the final settings)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/loho[-variant].json)")
    args = parser.parse_args(argv)
    variant = load_variant(args.variant)
    num_images, epochs = run_length(variant)
    tag = args.variant or ""
    out = args.out or RESULTS / (f"loho-{tag}.json" if tag else "loho.json")
    test = load_inputs()
    results = {"settings": {"num_images": num_images, "epochs": epochs, "held_out_images": HELD_OUT_IMAGES,
                            "held_out_anatomy": HELD_OUT_ANATOMY, "anatomy": variant["anatomy"],
                            "train": variant["train"], "variant": args.variant}, "heads": {}}
    for head in args.heads.split(","):
        cfg = loho_config(head, num_images, epochs, variant["train"])
        paths = bench_paths(f"loho-{tag}/{head}" if tag else f"loho/{head}")
        t0 = time.perf_counter()
        model, state = train_or_resume(cfg, loho_images(cfg, paths, variant["anatomy"]), test, paths, progress=False)
        plain, shifted = with_shifts(model, 1), with_shifts(model, cfg.train.test_time_shifts)
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
