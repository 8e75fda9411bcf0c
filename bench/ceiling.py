"""How far the networks are from what labels would give: supervised ceilings on the labelled proxies.

    python -m bench.ceiling [--heads colin27,robex,itk,brainbrowser]

For each held-out real head H, the network ``bench.loho`` trained without H (short run,
``runs/loho/H/``) and 100 slices of H seen through the exact test mask (the labelled proxy of
``bench.adapt``). Scored by the TRUE PSNR/SSIM on the proxy's gaps:

- row-wise linear and biharmonic inpainting;
- the network as trained, shift-averaged (the unseen-head score of ``bench.loho``, on 100 slices);
- the project's adaptation: self-training on the proxy's observed pixels (``AdaptConfig``, 600
  steps, shift-averaged fills);
- **label ceiling of adaptation**: the same network fine-tuned with the same steps, learning
  rate and anchors on 100 *other* slices of H with their full truth (:func:`supervised_fine_tune`):
  what 100 labelled images of the head teach, which 100 half-observed ones cannot exceed by much;
- **seen-head ceiling**: a network trained the same way on all six heads, H included (same length):
  what leave-one-head-out training would reach if the held-out head were no stranger.

Writes ``bench/results/ceiling.json`` (heads run before, by an earlier call, stay in it) and prints
a Markdown table. About 12 minutes a head on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from bench.common import (HELD_OUT_ANATOMY, INDIVIDUAL_HEADS, RESULTS, SHORT_RUN_EPOCHS, SHORT_RUN_IMAGES,
                          bench_paths, held_out_images, loho_config, short_run_config, supervised_fine_tune)

from mri_inpaint.adapt import self_train
from mri_inpaint.checkpoint import load_model
from mri_inpaint.config import preset
from mri_inpaint.evaluate import compare_methods, methods_table
from mri_inpaint.masks import corrupt
from mri_inpaint.model import with_shifts
from mri_inpaint.pipeline import anchor_images, load_inputs, train_or_resume, training_images
from mri_inpaint.sources.heads import HEADS

PROXY_IMAGES = 100
#: Seed of the labelled sibling slices (never used for training or for the proxy).
SIBLING_SEED = 977


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", default=",".join(INDIVIDUAL_HEADS), help="held-out heads, one at a time")
    parser.add_argument("--num-images", type=int, default=SHORT_RUN_IMAGES, help="training images per run (as bench.loho)")
    parser.add_argument("--epochs", type=int, default=SHORT_RUN_EPOCHS, help="epochs per run (as bench.loho)")
    parser.add_argument("--out", type=Path, default=RESULTS / "ceiling.json", help="JSON results")
    args = parser.parse_args(argv)
    test = load_inputs()
    adapt_cfg = preset().adapt
    shifts = preset().train.test_time_shifts

    seen_cfg = short_run_config(list(HEADS), args.num_images, args.epochs)
    seen_paths = bench_paths("ceiling/all-heads")
    t0 = time.perf_counter()
    seen, _ = train_or_resume(seen_cfg, training_images(seen_cfg, seen_paths, progress=False), test, seen_paths,
                              progress=False)
    seen_minutes = (time.perf_counter() - t0) / 60

    previous = json.loads(args.out.read_text())["heads"] if args.out.exists() else {}
    results = {"settings": {"num_images": args.num_images, "epochs": args.epochs, "proxy_images": PROXY_IMAGES,
                            "held_out_anatomy": HELD_OUT_ANATOMY, "sibling_seed": SIBLING_SEED,
                            "adapt": asdict(adapt_cfg), "seen_head_training_minutes": seen_minutes},
               "heads": previous}  # heads run before stay unless run again
    for head in args.heads.split(","):
        cfg = loho_config(head, args.num_images, args.epochs)
        paths = bench_paths(f"loho/{head}")
        if not (paths.run_dir / "best.pt").exists():
            parser.error(f"no network trained without {head}: run `python -m bench.loho --heads {head}` first")
        unseen = load_model(paths.run_dir / "best.pt")
        anchors = anchor_images(training_images(cfg, paths, progress=False), adapt_cfg)
        clean = held_out_images(head, PROXY_IMAGES)
        proxy = corrupt(clean, test.mask)
        start = with_shifts(unseen, shifts)
        nets, minutes = {"trained without the head, shift-averaged": start}, {}

        t0 = time.perf_counter()
        nets["self-training (adaptation)"] = self_train(start, proxy, test.mask, anchors, adapt_cfg, progress=False)
        minutes["self-training (adaptation)"] = (time.perf_counter() - t0) / 60
        t0 = time.perf_counter()
        nets["label ceiling: fine-tuned on 100 labelled slices of the head"] = supervised_fine_tune(
            start, held_out_images(head, PROXY_IMAGES, seed=SIBLING_SEED), test.mask, anchors, adapt_cfg)
        minutes["label ceiling: fine-tuned on 100 labelled slices of the head"] = (time.perf_counter() - t0) / 60
        nets["seen-head ceiling: trained with the head, shift-averaged"] = with_shifts(seen, shifts)

        rows = [r for r in compare_methods(clean, test.mask, methods_table(nets)) if r["method"] != "zero fill"]
        for r in rows:
            r["minutes"] = minutes.get(r["method"], 0.0)
        results["heads"][head] = {"rows": rows, "trained_on": cfg.data.heads}
        by = {r["method"]: r for r in rows}
        print(f"{head}: biharmonic {by['biharmonic']['psnr_gaps']:.2f}, unseen "
              f"{by['trained without the head, shift-averaged']['psnr_gaps']:.2f}, self-trained "
              f"{by['self-training (adaptation)']['psnr_gaps']:.2f}, label ceiling "
              f"{by['label ceiling: fine-tuned on 100 labelled slices of the head']['psnr_gaps']:.2f}, seen head "
              f"{by['seen-head ceiling: trained with the head, shift-averaged']['psnr_gaps']:.2f} dB", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))

    heads = list(results["heads"])
    print("\n| method (true PSNR on the proxy's gaps, dB; in brackets: minus biharmonic) | "
          + " | ".join(heads) + " |\n|---|" + "---:|" * len(heads))
    methods = list(dict.fromkeys(r["method"] for head in heads for r in results["heads"][head]["rows"]))
    for method in methods:
        cells = []
        for head in heads:
            by = {r["method"]: r for r in results["heads"][head]["rows"]}
            cells.append(f"{by[method]['psnr_gaps']:.2f} ({by[method]['psnr_gaps'] - by['biharmonic']['psnr_gaps']:+.2f})"
                         if method in by else "—")
        print(f"| {method} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
