"""Settings of self-training on unlabelled images, compared where the truth is known.

    python -m bench.adapt [--proxy-head robex] [--seconds 150]

The labelled proxy: 100 slices of a head the network never saw (``bench.loho`` trains it
on the other heads), corrupted with the exact test mask and used exactly as the test images
are: adaptation sees only their observed pixels. Each method gets the same wall-time budget
and is scored by the TRUE masked PSNR/SSIM on the proxy, and the best ones also by the
cross-fitted label-free check on the real test images (adapt on one half, check the other).
Methods: no adaptation; self-training on pseudo-filled, re-masked images (``pseudo``, the
package's :func:`~mri_inpaint.adapt.self_train`); ``pseudo`` with heavier, lighter or no synthetic
anchors, a higher learning rate or more frequent pseudo-fills; and ``pseudo`` with shift-averaged
fills (test-time augmentation). The rejected methods in ``bench/results/adapt.json`` (``split``,
the equivariant-imaging loss, warped pairs, the ensemble) were run by this script at commit
``8fe0f0b``. ``--only 'NAME|...'`` runs just those methods and merges their rows into the existing results.
Writes ``bench/results/adapt.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from bench.common import RESULTS, SHORT_RUN_EPOCHS, SHORT_RUN_IMAGES, bench_paths, held_out_images, loho_config

from mri_inpaint.adapt import cross_fitted_check, self_train
from mri_inpaint.check import real_image_check
from mri_inpaint.checkpoint import load_model
from mri_inpaint.config import preset
from mri_inpaint.evaluate import compare_methods, methods_table
from mri_inpaint.masks import corrupt
from mri_inpaint.model import with_shifts
from mri_inpaint.pipeline import anchor_images, load_inputs, training_images


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxy-head", default="robex", help="held-out head whose slices are the proxy")
    parser.add_argument("--seconds", type=float, default=150, help="wall-time budget of every method")
    parser.add_argument("--num-images", type=int, default=SHORT_RUN_IMAGES, help="as in bench.loho")
    parser.add_argument("--epochs", type=int, default=SHORT_RUN_EPOCHS, help="as in bench.loho")
    parser.add_argument("--real-top", type=int, default=2, help="methods also scored by the cross-fitted real check")
    parser.add_argument("--only", default="", help="method names separated by '|' to run (merged into --out)")
    parser.add_argument("--out", type=Path, default=RESULTS / "adapt.json", help="JSON results")
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    cfg = loho_config(args.proxy_head, args.num_images, args.epochs)
    paths = bench_paths(f"loho/{args.proxy_head}")
    base = load_model(paths.run_dir / "best.pt")  # trained by bench.loho without the proxy head
    test = load_inputs()
    anchors = anchor_images(training_images(cfg, paths, progress=False), cfg.adapt)
    clean = held_out_images(args.proxy_head, 100)
    proxy = corrupt(clean, test.mask)
    steps = 100_000  # the time budget ends every run
    base_adapt = replace(preset().adapt, steps=steps)
    shifted = with_shifts(base, cfg.train.test_time_shifts)
    methods = {  # name: (the network adaptation starts from, its settings)
        "pseudo": (base, base_adapt),
        "pseudo, anchor weight 1.0": (base, replace(base_adapt, synthetic_weight=1.0)),
        "pseudo + shift-averaged fills": (shifted, base_adapt),
        "pseudo, anchor weight 0.25": (base, replace(base_adapt, synthetic_weight=0.25)),
        "pseudo, no anchors": (base, replace(base_adapt, synthetic_weight=0.0)),
        "pseudo, learning rate 5e-4": (base, replace(base_adapt, lr=5e-4)),
        "pseudo, pseudo-fills refreshed every 25 steps": (base, replace(base_adapt, refresh_every=25)),
    }
    only = {m.strip() for m in args.only.split("|") if m.strip()}

    def wanted(name):
        return not only or name in only
    rows = []

    def score(name, model, minutes, adapt_cfg=None):
        r = compare_methods(clean, test.mask, methods_table({name: model}, baselines=False))[0]
        rows.append({"method": name, "proxy_psnr_gaps": r["psnr_gaps"], "proxy_ssim_gaps": r["ssim_gaps"],
                     "proxy_ssim_image": r["ssim_image"], "minutes": minutes,
                     "config": asdict(adapt_cfg) if adapt_cfg else None})
        print(f"{name}: true proxy PSNR on the gaps {r['psnr_gaps']:.2f} dB ({minutes:.1f} min)", flush=True)

    for r in compare_methods(clean, test.mask, methods_table(baselines=True)):
        if r["method"] != "zero fill" and wanted(r["method"]):
            rows.append({"method": r["method"], "proxy_psnr_gaps": r["psnr_gaps"], "proxy_ssim_gaps": r["ssim_gaps"],
                         "proxy_ssim_image": r["ssim_image"], "minutes": 0.0, "config": None})
    if wanted("no adaptation"):
        score("no adaptation", base, 0.0)
    for name, (start, adapt_cfg) in methods.items():
        if wanted(name):
            t0 = time.perf_counter()
            adapted = self_train(start, proxy, test.mask, anchors, adapt_cfg, progress=False, max_seconds=args.seconds)
            score(name, adapted, (time.perf_counter() - t0) / 60, adapt_cfg)

    # The real test images: cross-fitted check for the best methods by the true proxy score.
    ranked = sorted((r for r in rows if r["config"]), key=lambda r: -r["proxy_psnr_gaps"])[: args.real_top]
    if only:
        ranked = []  # a partial run adds proxy rows only
    real = {"no adaptation": real_image_check(base, test.images, test.mask)["psnr"]}
    for r in ranked:
        adapt_cfg = replace(base_adapt, **{k: v for k, v in r["config"].items() if k != "steps"})
        # cross_fitted_check has no time budget: give each fold the step count that fits the budget.
        reached = _steps_in(r["minutes"] * 60, base, proxy, test.mask, anchors, adapt_cfg)
        cf = cross_fitted_check(base, test.images, test.mask, anchors, replace(adapt_cfg, steps=reached),
                                progress=False)
        real[r["method"]] = cf["after"]["psnr"]
        r["real_check_cross_fitted"] = cf["after"]["psnr"]
        r["steps"] = reached
        print(f"{r['method']}: real-image check cross-fitted {cf['before']['psnr']:.2f} -> {cf['after']['psnr']:.2f} dB "
              f"({reached} steps)", flush=True)
    for r in rows:
        if r["method"] == "no adaptation":
            r["real_check_cross_fitted"] = real["no adaptation"]
    if only and args.out.exists():  # merge: new rows replace same-named ones, the others stay
        previous = json.loads(args.out.read_text())["rows"]
        names = {r["method"] for r in rows}
        rows = [r for r in previous if r["method"] not in names] + rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"proxy_head": args.proxy_head, "seconds_per_method": args.seconds,
                                    "rows": rows}, indent=1))
    print("\n| method | true proxy PSNR gaps (dB) | proxy SSIM gaps | real-image check, cross-fitted (dB) | minutes |"
          "\n|---|---:|---:|---:|---:|")
    for r in rows:
        check = f"{r['real_check_cross_fitted']:.2f}" if "real_check_cross_fitted" in r else "—"
        print(f"| {r['method']} | {r['proxy_psnr_gaps']:.2f} | {r['proxy_ssim_gaps']:.4f} | {check} | "
              f"{r['minutes']:.1f} |")
    return 0


def _steps_in(seconds: float, base, proxy, mask, anchors, adapt_cfg) -> int:
    """How many steps of ``adapt_cfg`` fit in ``seconds`` (timed on 10 steps)."""
    t0 = time.perf_counter()
    self_train(base, proxy, mask, anchors, replace(adapt_cfg, steps=10), progress=False)
    return max(10, int(10 * seconds / (time.perf_counter() - t0)))


if __name__ == "__main__":
    raise SystemExit(main())
