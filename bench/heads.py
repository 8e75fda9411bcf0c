"""How well the embedded heads match the test images, per head, mixed, and mirrored.

    python bench/heads.py [--test /work/shared/test_set.npy] [--n 2000]

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

from mri_inpaint.masks import infer_mask
from mri_inpaint.sources import AnatomyParams, AnatomySource
from mri_inpaint.sources.heads import HEADS, available_heads

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEST = Path("/work/shared/test_set.npy")


def mean_correlation(source_images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> float:
    """Pearson correlation of the two mean images on observed pixels (``mask`` True = missing)."""
    obs = ~mask
    a = source_images[:, 0].mean(axis=0)[obs]
    b = test_images[:, 0].mean(axis=0)[obs]
    return float(np.corrcoef(a, b)[0, 1])


def nn_mse(source_images: np.ndarray, test_images: np.ndarray, mask: np.ndarray) -> float:
    """Mean over test images of the smallest observed-pixel MSE to any source image."""
    obs = ~mask.ravel()
    s = torch.from_numpy(source_images.reshape(len(source_images), -1)[:, obs]).double()
    t = torch.from_numpy(test_images.reshape(len(test_images), -1)[:, obs]).double()
    d = (t * t).sum(1, keepdim=True) - 2 * t @ s.T + (s * s).sum(1)[None]
    return float((d.min(dim=1).values / obs.sum()).clamp_min(0).mean())


def evaluate(source: AnatomySource, test_images: np.ndarray, mask: np.ndarray, n: int, seed: int = 0,
             mirror: bool = False) -> dict:
    t0 = time.perf_counter()
    images = source.sample(n, seed)
    speed = n / (time.perf_counter() - t0)
    if mirror:
        images = images[..., ::-1].copy()
    return {"corr": mean_correlation(images, test_images, mask), "nn_mse": nn_mse(images, test_images, mask),
            "images_per_s": speed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", type=Path, default=DEFAULT_TEST, help="test images (N,1,64,64), masked")
    parser.add_argument("--n", type=int, default=2000, help="source images per row")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/heads.json", help="JSON results")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    test = np.load(args.test).astype(np.float32)
    mask = infer_mask(test)
    base = AnatomyParams()
    heads = [h for h in base.head_names() if h in available_heads()]
    rows = []
    for h in heads:
        rows.append({"source": h, "kind": HEADS[h].kind,
                     **evaluate(AnatomySource(replace(base, heads=(h,))), test, mask, args.n)})
    mix = AnatomySource(base)
    rows.append({"source": "mix", "kind": "weighted", **evaluate(mix, test, mask, args.n)})
    rows.append({"source": "mix, mirrored", "kind": "weighted", **evaluate(mix, test, mask, args.n, mirror=True)})
    for h in heads:  # leave-one-head-out mixes
        rows.append({"source": f"mix without {h}", "kind": "weighted",
                     **evaluate(AnatomySource(replace(base, exclude=(h,))), test, mask, args.n)})
    result = {"machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread",
              "n_source_images": args.n, "n_test_images": int(len(test)), "params": mix.params(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| source | kind | mean-image corr | NN-MSE | images/s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['source']} | {r['kind']} | {r['corr']:.3f} | {r['nn_mse']:.4f} | {r['images_per_s']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
