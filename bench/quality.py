"""Quality benchmark: new slices of the training heads with the exact test mask, and the label-free
check on the real test images, for the baselines and a trained network.

    python -m bench.quality [--weights weights/inpaint_unet.pt] [--eval-images 400]

Writes bench/results/quality.json and prints two Markdown tables.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.common import RESULTS
from mri_inpaint.checkpoint import load_model
from mri_inpaint.config import preset, with_overrides
from mri_inpaint.check import format_check_table
from mri_inpaint.evaluate import format_table
from mri_inpaint.fill import predict
from mri_inpaint.paths import DEFAULT_WEIGHTS, Paths
from mri_inpaint.pipeline import load_inputs, score_networks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="trained weights")
    parser.add_argument("--test-set", type=Path, help="real test set (default: the usual search)")
    parser.add_argument("--eval-images", type=int, default=preset().data.eval_images, help="new slices of the training heads")
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json", help="JSON results")
    args = parser.parse_args(argv)

    cfg = with_overrides(preset(), data={"eval_images": args.eval_images, "source": "anatomy"})
    test = load_inputs(args.test_set)
    model = load_model(args.weights)
    # The committed network was self-trained on the test images' observed pixels, so its
    # check is in-sample; bench.adapt reports the cross-fitted figure.
    scores = score_networks(cfg, Paths.default(), {"U-Net (ours)": model}, test)
    print(f"New slices of the training heads (n={args.eval_images}), exact test mask\n")
    print(format_table(scores["new_slices"]))
    print(f"\nLabel-free check on the {len(test.images)} real test images (hidden observed pixels; "
          "in-sample for adapted weights)\n")
    print(format_check_table(scores["real_check"]))

    t0 = time.perf_counter()
    predict(model, test.images, test.mask)
    fill_s = time.perf_counter() - t0
    print(f"\nFilling {len(test.images)} test images with the network: {fill_s:.2f} s on "
          f"{torch.get_num_threads()} threads")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**scores, "fill_seconds_100": fill_s, "weights": str(args.weights)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
