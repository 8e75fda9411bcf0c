"""How well the embedded heads match the test images, per head, mixed, and mirrored.

    python -m bench.heads [--test-set PATH] [--n 2000] [--variant NAME --out PATH]

For each head alone, the default mix, and the mix mirrored left-right (which must score
clearly lower: it proves the face points the test images' way), with the test images'
missing-stripe mask applied, reports
  * corr: Pearson correlation of the source's mean image with the test images' mean image,
    on observed pixels;
  * nn_mse: mean over test images of the smallest observed-pixel MSE to any of N source images;
  * images_per_s: sampling speed (one thread).
Writes bench/results/heads.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT, load_variant
from mri_inpaint.data import find_test_set, load_test_set
from mri_inpaint.fidelity import mean_image_correlation, nearest_neighbour_mse
from mri_inpaint.masks import infer_mask
from mri_inpaint.sources import AnatomyParams, AnatomySource
from mri_inpaint.sources.heads import HEADS, available_heads


def source_match(source: AnatomySource, test_images: np.ndarray, mask: np.ndarray, n: int, seed: int = 0,
                 mirror: bool = False) -> dict:
    t0 = time.perf_counter()
    images = source.sample(n, seed)
    speed = n / (time.perf_counter() - t0)
    if mirror:
        images = images[..., ::-1].copy()
    return {"corr": mean_image_correlation(images, test_images, mask),
            "nn_mse": nearest_neighbour_mse(images, test_images, mask),
            "images_per_s": speed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-set", type=Path, default=None, help="test set .npy (default: the usual search)")
    parser.add_argument("--n", type=int, default=2000, help="source images per row")
    parser.add_argument("--variant", help="a variant of the embedded source: its name in bench/variants/")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/heads.json", help="JSON results")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    test = load_test_set(find_test_set(args.test_set, cwd=ROOT))
    mask = infer_mask(test)
    base = AnatomyParams.from_overrides(load_variant(args.variant)["anatomy"])
    heads = [h for h in base.head_names() if h in available_heads()]
    rows = []
    for h in heads:
        rows.append({"source": h, "kind": HEADS[h].kind,
                     **source_match(AnatomySource(replace(base, heads=(h,))), test, mask, args.n)})
    mix = AnatomySource(base)
    rows.append({"source": "mix", "kind": "weighted", **source_match(mix, test, mask, args.n)})
    rows.append({"source": "mix, mirrored", "kind": "weighted", **source_match(mix, test, mask, args.n, mirror=True)})
    for h in heads:  # leave-one-head-out mixes
        rows.append({"source": f"mix without {h}", "kind": "weighted",
                     **source_match(AnatomySource(replace(base, exclude=(h,))), test, mask, args.n)})
    result = {"machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread",
              "n_source_images": args.n, "n_test_images": len(test), "params": mix.params(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| source | kind | mean-image corr | NN-MSE | images/s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['source']} | {r['kind']} | {r['corr']:.3f} | {r['nn_mse']:.4f} | {r['images_per_s']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
