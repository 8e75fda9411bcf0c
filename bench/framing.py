"""Framing and shape of the embedded training images against the test images, before and after matching.

    python -m bench.framing [--n 2000] [--before framing-today] [--out bench/results/framing.json]

Draws ``--n`` images of the training mix (every embedded head but ``DataConfig.held_out_head``,
as in training) with the settings of the ``--before`` variant and with today's defaults, and
the held-out head's slices as :mod:`mri_inpaint.holdout` draws them under both, and compares
each set's framing statistics (:func:`mri_inpaint.fidelity.framing_comparison`: first row and
columns with tissue, tissue fraction, intensity, crown roundness, tissue centroid, on the
observed pixels through the exact test mask) with the test images'. The mixes are of equal
size, so their set-to-set distances (:func:`mri_inpaint.fidelity.compare_sets`) compare fairly.
Writes the JSON; ``python -m bench.tables`` prints it as the ``framing`` table of docs/results.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import HELD_OUT_IMAGES, RESULTS, load_variant
from mri_inpaint.config import DataConfig
from mri_inpaint.fidelity import compare_sets, framing_comparison, framing_summary
from mri_inpaint.holdout import HELD_OUT_SEED, HELD_OUT_VARIATION
from mri_inpaint.pipeline import load_inputs
from mri_inpaint.sources import AnatomyParams, AnatomySource

SEED = 2026


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="images of the training mix per setting")
    parser.add_argument("--before", default="framing-today", help="variant holding the settings before matching")
    parser.add_argument("--out", type=Path, default=RESULTS / "framing.json")
    args = parser.parse_args(argv)
    test = load_inputs()
    held_out = DataConfig().held_out_head
    before = load_variant(args.before)["anatomy"]
    settings = {"before": before, "after": {}}
    mixes = {name: AnatomySource(AnatomyParams.from_overrides(over, exclude=(held_out,))).sample(args.n, SEED)
             for name, over in settings.items()}
    compared = compare_sets({f"training mix, {k}": v for k, v in mixes.items()}, test.images, test.mask)
    sets = dict(compared)
    for name, over in settings.items():
        params = AnatomyParams.from_overrides({**over, **HELD_OUT_VARIATION}, heads=(held_out,))
        slices = AnatomySource(params).sample(HELD_OUT_IMAGES, HELD_OUT_SEED)
        sets[f"held-out {held_out}, {name}"] = {"framing": framing_comparison(slices, test.images, test.mask)}
    result = {"settings": {"n": args.n, "seed": SEED, "held_out_head": held_out, "held_out_images": HELD_OUT_IMAGES,
                           "before": args.before, "before_anatomy": before, "after_anatomy": "the defaults"},
              "test": framing_summary(test.images, test.mask), "sets": sets}
    for name, row in sets.items():
        print(f"{name}: {row['framing']['within']} of {row['framing']['of']} framing statistics within the test "
              f"images' mean ± 1 sd")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
