"""Quality benchmark: held-out embedded images with the exact test mask, and the label-free
check on the real test images, for the baselines and the trained network.

    python bench/quality.py [--weights weights/inpaint_unet.pt] [--n 400]

Writes bench/results/quality.json and prints two Markdown tables.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mri_inpaint.adapt import check_with  # noqa: E402
from mri_inpaint.baselines import biharmonic, row_interpolate_np, zero_fill  # noqa: E402
from mri_inpaint.cli import EVAL_COUNT, eval_images, load_inputs  # noqa: E402
from mri_inpaint.evaluate import compare_methods, format_table, predict  # noqa: E402
from mri_inpaint.train import load_model  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=ROOT / "weights/inpaint_unet.pt", help="trained weights")
    parser.add_argument("--test-set", type=Path, help="real test set (default: the usual search)")
    parser.add_argument("--n", type=int, default=EVAL_COUNT, help="held-out embedded images")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data", help="image cache folder")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/quality.json", help="JSON results")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)

    _, real, mask = load_inputs(args.test_set, None)
    model = load_model(args.weights)
    methods = {"zero fill": zero_fill, "row-wise linear": row_interpolate_np, "biharmonic": biharmonic,
               "U-Net (ours)": lambda x, m: predict(model, x, m)}
    # The committed network was self-trained on the test images' observed pixels, so its
    # check below is in-sample; bench/adapt.py reports the cross-fitted figure.
    rows = compare_methods(eval_images(args.data_dir, args.n), mask, methods)
    print(f"Held-out embedded images (n={args.n}), exact test mask\n")
    print(format_table(rows))

    checks = []
    for name, fn in methods.items():
        if name == "zero fill":
            continue
        t0 = time.perf_counter()
        checks.append({"method": name, **check_with(fn, real, mask), "seconds": time.perf_counter() - t0})
    print(f"\nLabel-free check on the {len(real)} real test images (hidden observed pixels)\n")
    print("| Method | PSNR hidden (dB) | MAE hidden |\n|---|---|---|")
    for c in checks:
        note = " (in-sample if the weights were adapted to these images)" if c["method"].startswith("U-Net") else ""
        print(f"| {c['method']}{note} | {c['psnr']:.2f} | {c['mae']:.4f} |")

    t0 = time.perf_counter()
    predict(model, real, mask)
    fill_s = time.perf_counter() - t0
    print(f"\nFilling {len(real)} test images with the network: {fill_s:.2f} s on {torch.get_num_threads()} threads")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"held_out": rows, "real_check": checks, "fill_seconds_100": fill_s,
                                    "weights": str(args.weights)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
