"""Score saved networks on the slices of a head none of them trained on.

    python -m bench.unseen_head --head brainbrowser --weights NAME=PATH [NAME=PATH ...] [--out JSON]

A head added to the embedded source after a network was trained is, for that network, exactly
what every test image is: a head it never saw. (Given a network that did see the head, the same
scores are a ceiling for the unseen case: ``seen-shipped-<head>.json``, the final network.) This
scores each given network (a weights file or a checkpoint, with the fill it was saved with) on the
held-out slices ``bench.loho`` uses for that head (exact test mask, PSNR/SSIM on the gaps and on the whole image), against row-wise linear and
biharmonic inpainting. Writes ``bench/results/unseen-<head>.json`` unless ``--out`` says otherwise.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import HELD_OUT_IMAGES, RESULTS, held_out_images

from mri_inpaint.checkpoint import load_model
from mri_inpaint.evaluate import compare_methods, methods_table
from mri_inpaint.pipeline import load_inputs
from mri_inpaint.sources.heads import HEADS



def named_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--head", required=True, choices=tuple(HEADS), help="the head none of the networks saw")
    parser.add_argument("--weights", type=named_path, nargs="+", required=True,
                        help="networks to score, as NAME=PATH (weights file or checkpoint)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/unseen-<head>.json)")
    args = parser.parse_args(argv)
    for _, path in args.weights:
        if not path.exists():
            parser.error(f"{path} not found")
    test = load_inputs()
    nets = {name: load_model(path) for name, path in args.weights}
    rows = compare_methods(held_out_images(args.head), test.mask, methods_table(nets))
    for r in rows:
        print(f"{r['method']}: {r['psnr_gaps']:.2f} dB on the gaps, SSIM image {r['ssim_image']:.4f}")
    out = args.out or RESULTS / f"unseen-{args.head}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"head": args.head, "held_out_images": HELD_OUT_IMAGES,
                               "weights": {name: str(path) for name, path in args.weights}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
