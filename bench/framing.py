"""Framing and shape of the embedded training images against the test images, before and after matching.

    python -m bench.framing [--n 2000] [--before framing-today] [--out bench/results/framing.json]
    python -m bench.framing --fit      # refit the per-head framing (DEFAULT_HEAD_FRAMING) to the test images
    python -m bench.framing --variants framing-matched-elastic10,elastic15-knots3   # the mix under each variant

Draws ``--n`` images of the training mix (every embedded head but ``DataConfig.held_out_head``,
as in training) with the settings of the ``--before`` variant and with today's defaults, and
the held-out head's slices as :mod:`mri_inpaint.holdout` draws them under both, and compares
each set's framing statistics (:func:`mri_inpaint.fidelity.framing_comparison`: first row and
columns with tissue, tissue fraction, intensity, crown roundness, tissue centroid, on the
observed pixels through the exact test mask) with the test images'. The mixes are of equal
size, so their set-to-set distances (:func:`compare_sets`) compare fairly.
``--fit`` instead refits each head's (zoom, x shift, y shift) under today's other settings
so that its mean first and last columns and first row with tissue are the test images', and
prints the tuple for ``DEFAULT_HEAD_FRAMING``. ``--variants`` instead measures the training mix
under each named variant (equal sizes, same seed) into ``bench/results/framing-variants.json``.
``python -m bench.tables`` prints the JSON as the ``framing`` and ``framing_variants`` tables of
docs/results.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import HELD_OUT_IMAGES, RESULTS, load_variant
from mri_inpaint.config import DataConfig
from mri_inpaint.fidelity import fidelity, framing_comparison, framing_summary
from mri_inpaint.holdout import HELD_OUT_SEED, HELD_OUT_VARIATION
from mri_inpaint.pipeline import load_inputs
from mri_inpaint.sources import AnatomyParams, AnatomySource

SEED = 2026


def compare_sets(sets: dict, test_images, mask) -> dict:
    """:func:`~mri_inpaint.fidelity.fidelity` and the framing comparison of image sets of equal size."""
    sizes = {name: len(images) for name, images in sets.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"sets compared must be of equal size, got {sizes}: draw the same number from each")
    return {name: {**fidelity(images, test_images, mask), "framing": framing_comparison(images, test_images, mask)}
            for name, images in sets.items()}


def _frame_coord(pixel: float) -> float:
    """A pixel index's centre in frame coordinates ([-1, 1] across the 64-pixel frame)."""
    return (pixel + 0.5) / 32 - 1


def fit_head_framing(test, n: int = 150, rounds: int = 3) -> tuple:
    """Each head's (zoom, x shift, y shift) that puts its mean tissue edges where the test images' are.

    The source maps a frame coordinate u to the head's u / zoom + shift, so one head's measured
    left, right and top edges give the zoom that spans the test's columns and the shifts that
    place the edges; a few rounds absorb what the warps and the pixel grid add.
    """
    target = framing_summary(test.images, test.mask)
    left, right, top = (_frame_coord(target[k]["mean"] + d) for k, d in
                        (("first_col", 0), ("last_col", 1), ("top_margin", 0)))
    frame = {h: AnatomyParams().framing(h) for h in AnatomyParams().heads}
    for r in range(rounds):
        for head, (zoom, dx, dy) in frame.items():
            params = AnatomyParams(heads=(head,), head_framing=tuple((k, *v) for k, v in frame.items()))
            s = framing_summary(AnatomySource(params).sample(n, seed=r), test.mask)
            a_left = _frame_coord(s["first_col"]["mean"]) / zoom + dx
            a_right = _frame_coord(s["last_col"]["mean"] + 1) / zoom + dx
            a_top = _frame_coord(s["top_margin"]["mean"]) / zoom + dy
            z = (right - left) / (a_right - a_left)
            frame[head] = (round(z, 3), round(a_left - left / z, 3), round(a_top - top / z, 3))
    return tuple((k, *v) for k, v in frame.items())


def training_mix(anatomy: dict, n: int):
    """``n`` images of the training mix (the held-out head left out) with ``anatomy`` over the defaults."""
    held_out = DataConfig().held_out_head
    return AnatomySource(AnatomyParams.from_overrides(anatomy, exclude=(held_out,))).sample(n, SEED)


def compare_variants(names: list[str], n: int, test, out: Path) -> dict:
    """The training mix's framing comparison under each variant's anatomy settings, also written to ``out``."""
    sets = {}
    for name in names:
        over = load_variant(name)["anatomy"]
        sets[name] = {"anatomy": over, "framing": framing_comparison(training_mix(over, n), test.images, test.mask)}
        print(f"{name}: {sets[name]['framing']['within']} of {sets[name]['framing']['of']} framing statistics "
              "within the test images' mean ± 1 sd")
    result = {"settings": {"n": n, "seed": SEED, "held_out_head": DataConfig().held_out_head}, "sets": sets}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="images of the training mix per setting")
    parser.add_argument("--before", default="framing-today", help="variant holding the settings before matching")
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/framing.json, "
                                                 "or framing-variants.json with --variants)")
    parser.add_argument("--fit", action="store_true", help="refit and print the per-head framing instead")
    parser.add_argument("--variants", help="comma-separated variants: measure the training mix under each instead")
    args = parser.parse_args(argv)
    test = load_inputs()
    if args.fit:
        print(fit_head_framing(test))
        return 0
    if args.variants:
        compare_variants(args.variants.split(","), args.n, test, args.out or RESULTS / "framing-variants.json")
        return 0
    out = args.out or RESULTS / "framing.json"
    held_out = DataConfig().held_out_head
    before = load_variant(args.before)["anatomy"]
    settings = {"before": before, "after": {}}
    mixes = {name: training_mix(over, args.n) for name, over in settings.items()}
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
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
