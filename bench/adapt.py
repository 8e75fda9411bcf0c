"""Adaptation to the real test images, and how well the label-free check ranks models.

    python bench/adapt.py --weights runs/main/best.pt [--snapshots runs/main/snapshots] [--export weights/inpaint_unet.pt]

1. Ranking: for baselines and training snapshots, the held-out synthetic gap PSNR beside the
   label-free check on the real test images (Spearman rank correlation of the two).
2. Transfer, with labels: a domain-shifted synthetic "proxy test set" (other contrast, blur and
   noise) is adapted to without its labels; its true gap PSNR is measured before and after.
3. Real images, cross-fitted: self-train on half of the test images, check on the other half.
4. The final model self-trained on all test images; held-out synthetic score before/after.
Writes bench/results/adapt.json (and, with --export, the adapted weights).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from mri_inpaint.adapt import AdaptConfig, check_with, cross_fitted_check, real_image_check, self_train
from mri_inpaint.baselines import biharmonic, row_interpolate_np
from mri_inpaint.fill import predict
from mri_inpaint.masks import corrupt
from mri_inpaint.metrics import evaluate_fill
from mri_inpaint.pipeline import load_inputs
from mri_inpaint.sources import AnatomyParams, AnatomySource

ROOT = Path(__file__).resolve().parents[1]

#: A shifted domain for the transfer experiment: darker contrast, softer, less noisy images.
PROXY = AnatomyParams(gamma_range=(1.4, 1.9), blur_sigma_range=(0.4, 0.7), noise_range=(0.0, 0.008),
                      scale_range=(0.9, 1.0))


def spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=ROOT / "runs/main/best.pt", help="trained checkpoint")
    parser.add_argument("--snapshots", type=Path, default=ROOT / "runs/main/snapshots", help="epoch_N.pt files")
    parser.add_argument("--steps", type=int, default=AdaptConfig.steps, help="self-training steps")
    parser.add_argument("--n-eval", type=int, default=200, help="held-out synthetic images")
    parser.add_argument("--export", type=Path, help="write the weights adapted on all test images here")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/adapt.json", help="JSON results")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    t_start = time.time()
    cfg = AdaptConfig(steps=args.steps)
    _, real, mask = load_inputs(None, None)
    held_out = eval_images(ROOT / "data", args.n_eval)
    anchors = AnatomySource().sample(4000, seed=777)  # synthetic pairs that keep the real task anchored
    model = load_model(args.weights)
    results: dict = {"config": asdict(cfg), "weights": str(args.weights)}

    def synthetic_score(fill) -> float:
        return evaluate_fill(fill(corrupt(held_out, mask), mask), held_out, mask)["psnr_gaps"]

    # 1. ranking
    rows = []
    for name, fill in [("row-wise linear", row_interpolate_np), ("biharmonic", biharmonic)]:
        rows.append({"model": name, "synthetic_psnr_gaps": synthetic_score(fill),
                     "real_check_psnr": check_with(fill, real, mask)["psnr"]})
    for snap in sorted(args.snapshots.glob("epoch_*.pt"), key=lambda p: int(p.stem.split("_")[1])):
        m = load_model(snap)
        rows.append({"model": f"U-Net {snap.stem.replace('_', ' ')}",
                     "synthetic_psnr_gaps": synthetic_score(lambda x, k: predict(m, x, k)),
                     "real_check_psnr": real_image_check(m, real, mask)["psnr"]})
    results["ranking"] = rows
    results["ranking_spearman"] = spearman([r["synthetic_psnr_gaps"] for r in rows],
                                           [r["real_check_psnr"] for r in rows])
    print("| model | synthetic PSNR gaps | real check PSNR |\n|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['synthetic_psnr_gaps']:.2f} | {r['real_check_psnr']:.2f} |")
    print(f"Spearman rank correlation: {results['ranking_spearman']:.2f}")

    # 2. transfer on a labelled proxy domain
    proxy_clean = AnatomySource(PROXY).sample(100, seed=4242)
    proxy = corrupt(proxy_clean, mask)
    adapted_proxy = self_train(model, proxy, mask, anchors, cfg)
    results["proxy"] = {
        "params": {k: v for k, v in asdict(PROXY).items()},
        "before": {"true": evaluate_fill(predict(model, proxy, mask), proxy_clean, mask),
                   "check": real_image_check(model, proxy, mask)["psnr"]},
        "after": {"true": evaluate_fill(predict(adapted_proxy, proxy, mask), proxy_clean, mask),
                  "check": real_image_check(adapted_proxy, proxy, mask)["psnr"]},
        "biharmonic_true": evaluate_fill(biharmonic(proxy, mask), proxy_clean, mask),
    }
    p = results["proxy"]
    print(f"proxy domain: true PSNR gaps {p['before']['true']['psnr_gaps']:.2f} -> {p['after']['true']['psnr_gaps']:.2f}"
          f" dB (biharmonic {p['biharmonic_true']['psnr_gaps']:.2f}); check {p['before']['check']:.2f} -> "
          f"{p['after']['check']:.2f}")

    # 3. real images, cross-fitted
    results["real_cross_fitted"] = cross_fitted_check(model, real, mask, anchors, cfg)
    r = results["real_cross_fitted"]
    print(f"real test images, cross-fitted check: {r['before']['psnr']:.2f} -> {r['after']['psnr']:.2f} dB")

    # 4. final adaptation on all test images
    final = self_train(model, real, mask, anchors, cfg)
    results["final"] = {"synthetic_before": synthetic_score(lambda x, k: predict(model, x, k)),
                        "synthetic_after": synthetic_score(lambda x, k: predict(final, x, k)),
                        "real_check_in_sample_after": real_image_check(final, real, mask)["psnr"]}
    f = results["final"]
    print(f"held-out synthetic PSNR gaps: {f['synthetic_before']:.2f} -> {f['synthetic_after']:.2f} dB")
    results["summary"] = {
        "real_check_before_db": r["before"]["psnr"], "real_check_after_db_cross_fitted": r["after"]["psnr"],
        "proxy_true_gap_psnr_before_db": p["before"]["true"]["psnr_gaps"],
        "proxy_true_gap_psnr_after_db": p["after"]["true"]["psnr_gaps"],
        "synthetic_gap_psnr_before_db": f["synthetic_before"], "synthetic_gap_psnr_after_db": f["synthetic_after"],
        "ranking_spearman": results["ranking_spearman"], "seconds": time.time() - t_start}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    if args.export:
        state = load_checkpoint(args.weights)
        state = {**state, "model": final.state_dict()}
        export_weights(state, args.export, {"adaptation": results["summary"], "history": state.get("history", [])})
        print(f"exported adapted weights to {args.export}")
    print(f"wrote {args.out} ({time.time() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
