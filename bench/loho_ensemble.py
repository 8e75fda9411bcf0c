"""Do averaged networks generalise better to a head they never saw? Ensembles of leave-one-head-out runs.

    python bench/loho_ensemble.py [--heads robex,itk] [--tags loho,loho-seed1,...]

Loads the networks that ``bench/loho.py`` trained without each head (``runs/<tag>/<head>/best.pt``, one per
variant or seed; run those first) and scores, on the held-out head's slices with the exact test mask, the first
network alone, the first two averaged, and all of them averaged (shift-averaged fills throughout), plus the
label-free check on the real test images for the ensembles. If the networks' errors on an unseen head were
mostly their own, averaging would remove them; what is left is what they share. Writes
``bench/results/loho-ensemble.json``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from loho import HELD_OUT_IMAGES, held_out_images

from mri_inpaint.adapt import real_image_check
from mri_inpaint.checkpoint import load_model
from mri_inpaint.config import Paths
from mri_inpaint.evaluate import compare_methods, methods_table
from mri_inpaint.model import InpaintEnsemble
from mri_inpaint.pipeline import load_inputs

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_TAGS = "loho,loho-seed1,loho-falloff,loho-falloff-seed1,loho-shift75,loho-shift75-seed1"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", default="robex,itk", help="held-out heads")
    parser.add_argument("--tags", default=DEFAULT_TAGS, help="run folders under runs/ (the first is the baseline)")
    parser.add_argument("--shifts", type=int, default=4, help="test-time shifts of every network")
    parser.add_argument("--out", type=Path, default=RESULTS / "loho-ensemble.json", help="JSON results")
    args = parser.parse_args(argv)
    tags = args.tags.split(",")
    test = load_inputs()
    runs = Paths.default().run_dir.parent
    results = {"tags": tags, "held_out_images": HELD_OUT_IMAGES, "test_time_shifts": args.shifts, "heads": {}}
    for head in args.heads.split(","):
        nets = []
        for tag in tags:
            path = runs / tag / head / "best.pt"
            if not path.exists():
                parser.error(f"{path} is missing: train it first with bench/loho.py (see its --tag)")
            net = load_model(path)
            net.test_time_shifts = args.shifts
            nets.append(net)
        table = {f"{tags[0]} alone": nets[0], f"average of {len(nets[:2])}": InpaintEnsemble(nets[:2]),
                 f"average of {len(nets)}": InpaintEnsemble(nets)}
        rows = compare_methods(held_out_images(head), test.mask, methods_table(table, baselines=False))
        for r in rows:
            r["real_check_psnr"] = real_image_check(table[r["method"]], test.images, test.mask)["psnr"]
            print(f"{head}: {r['method']}: {r['psnr_gaps']:.2f} dB on the gaps, SSIM image {r['ssim_image']:.4f}, "
                  f"real-image check {r['real_check_psnr']:.2f} dB", flush=True)
        results["heads"][head] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
