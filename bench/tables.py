"""The Markdown tables of ``docs/results.md``, generated from the result files.

    python -m bench.tables            # print every table
    python -m bench.tables --write    # rewrite the tables inside docs/results.md

Each table in ``docs/results.md`` sits between ``<!-- table: NAME -->`` and
``<!-- /table -->``; ``tests/test_bench.py`` asserts that it equals :func:`table` of that name,
so the document cannot drift from the files.
"""
from __future__ import annotations

import argparse
import json
import re

from bench.common import RESULTS, ROOT, load_variant
from mri_inpaint.checkpoint import load_checkpoint
from mri_inpaint.paths import DEFAULT_WEIGHTS

DOC = ROOT / "docs" / "results.md"
#: The variants compared in docs/results.md, in table order (bench/variants/<name>.json, bench/results/loho-<name>.json).
VARIANT_ROWS = ("elastic05", "elastic075", "elastic10", "elastic15", "elastic20", "curve15", "elastic10-curve15", "mse",
                "defaults", "naf", "rot180", "blurpool", "batch16")
#: The commit whose code can rerun the retired variants and the rejected adaptation methods.
RERUN_COMMIT = "8fe0f0b"
#: Variants of options since removed from the package, with the descriptions their files gave: the files and
#: the code are at :data:`RERUN_COMMIT`; the results stay in ``bench/results/loho-<name>.json``.
RETIRED_VARIANTS = {
    "mse": "elastic warp 0.05, squared-error training loss instead of L1",
    "naf": "NAFNet's block (LayerNorm, SimpleGate, simplified channel attention; one per level) instead of two "
           "3x3 convolutions with GroupNorm",
    "rot180": "half the training images turned upside down (a half-turn), so that fills of the half-turned image "
              "can be averaged in",
    "blurpool": "antialiased down-sampling (Zhang, ICML 2019): a 2x2 max at stride 1, then a [1, 2, 1] blur at "
                "stride 2, instead of 2x2 max pooling",
    "framing-matched": "the framing matched to the test images' framing statistics (heads at 0.85 of their "
                       "height, per-head framing refitted, elastic warp 0.03)",
}
#: Retired variants whose code is at another commit than :data:`RERUN_COMMIT`.
RERUN_COMMITS = {"framing-matched": "d643c7b"}
#: Variants run at the final run's length on itk, against the defaults at that length (``loho-full6.json``).
FULL_VARIANT_ROWS = ("full6-batch16", "full6-unique", "full6-unique-seed1", "full6-unique-lr3e3")
#: The final network's tables are the metrics its run stored in the weights file.
WEIGHTS = DEFAULT_WEIGHTS


def _load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def _md(header: list[str], rows: list[list], align: str | None = None) -> str:
    align = align or "|---" + "|---:" * (len(header) - 1) + "|"
    return "\n".join(["| " + " | ".join(header) + " |", align, *("| " + " | ".join(map(str, r)) + " |" for r in rows)])


def _by_method(rows: list[dict]) -> dict:
    return {r["method"]: r for r in rows}


def final_held_out_head() -> str:
    metrics = load_checkpoint(WEIGHTS)["metrics"]
    chosen = metrics["fill_choice"]["fill"]
    return _md(["method", "PSNR gaps (dB)", "SSIM gaps", "PSNR image (dB)", "SSIM image", "MAE gaps"],
               [[r["method"] + (" (chosen)" if r["method"] == chosen else ""), f"{r['psnr_gaps']:.2f}",
                 f"{r['ssim_gaps']:.4f}", f"{r['psnr_image']:.2f}", f"{r['ssim_image']:.4f}", f"{r['mae_gaps']:.4f}"]
                for r in metrics["held_out_head"]])


def final_real_check() -> str:
    metrics = load_checkpoint(WEIGHTS)["metrics"]
    rows = [[r["method"], f"{r['psnr']:.2f}", f"{r['mae']:.4f}"] for r in metrics["real_check"]]
    cross = metrics["cross_fitted_check"]
    rows.append(["U-Net, self-trained, cross-fitted (each fold's network on the half it never saw)",
                 f"{cross['before']['psnr']:.2f} -> {cross['after']['psnr']:.2f}",
                 f"{cross['before']['mae']:.4f} -> {cross['after']['mae']:.4f}"])
    return _md(["method", "PSNR on hidden observed pixels (dB)", "MAE"], rows)


def final_history() -> str:
    history = load_checkpoint(WEIGHTS)["history"]
    return _md(["epoch", "validation PSNR gaps (training heads, dB)", "real-image check (dB)"],
               [[h["epoch"], f"{h['val_psnr_gaps']:.2f}", f"{h['real_check_psnr']:.2f}"] for h in history])


def loho() -> str:
    rows = []
    for head, r in _load("loho.json")["heads"].items():
        by = _by_method(r["rows"])
        net, bih = by["U-Net"]["psnr_gaps"], by["biharmonic"]["psnr_gaps"]
        rows.append([head, f"{by['row-wise linear']['psnr_gaps']:.2f}", f"{bih:.2f}", f"{net:.2f}", f"{net - bih:+.2f}",
                     f"{by['U-Net, shift-averaged']['psnr_gaps']:.2f}", f"{r['real_check_psnr_shift_averaged']:.2f}"])
    return _md(["held-out head", "row-wise linear", "biharmonic", "U-Net", "U-Net - biharmonic",
                "U-Net, shift-averaged", "real-image check, shift-averaged"], rows)


def loho_full() -> str:
    short = _load("loho.json")["heads"]
    rows = []
    for name in ("loho-full6.json", "loho-full.json"):
        for head, r in _load(name)["heads"].items():
            by = _by_method(r["rows"])
            net, bih = by["U-Net"]["psnr_gaps"], by["biharmonic"]["psnr_gaps"]
            mix = "five-head mix" if name == "loho-full.json" else "six-head mix"
            rows.append([f"{head} ({mix})", f"{_by_method(short[head]['rows'])['U-Net']['psnr_gaps']:.2f}",
                         f"{net:.2f}", f"{net - bih:+.2f}", f"{by['U-Net, shift-averaged']['psnr_gaps']:.2f}",
                         f"{r['real_check_psnr_shift_averaged']:.2f}"])
    return _md(["held-out head", "short run", "final length", "final length - biharmonic", "shift-averaged",
                "real-image check, shift-averaged"], rows)


def variants() -> str:
    rows = []
    for name in VARIANT_ROWS:
        heads = _load(f"loho-{name}.json")["heads"]
        cells = []
        for head in ("robex", "itk"):
            if head not in heads:  # a variant stopped after a head that settled it
                cells += ["-", "-"]
                continue
            by = _by_method(heads[head]["rows"])
            cells += [f"{by['U-Net']['psnr_gaps']:.2f}", f"{by['U-Net, shift-averaged']['psnr_gaps']:.2f}"]
        checks = " / ".join(f"{heads[h]['real_check_psnr_shift_averaged']:.2f}" if h in heads else "-"
                            for h in ("robex", "itk"))
        if name in RETIRED_VARIANTS:
            description, file = RETIRED_VARIANTS[name], f"`{name}` (at `{RERUN_COMMITS.get(name, RERUN_COMMIT)}`)"
        else:
            description, file = load_variant(name)["description"], f"`{name}`"
        rows.append([description, file, *cells, checks])
    return _md(["variant", "file", "robex", "robex, shift-averaged", "itk", "itk, shift-averaged",
                "real-image check, shift-averaged (robex / itk left out)"], rows, "|---|---|---:|---:|---:|---:|---:|")


def variants_full() -> str:
    rows = []
    for name, file in (("full6", "loho-full6.json"), *((n, f"loho-{n}.json") for n in FULL_VARIANT_ROWS)):
        r = _load(file)["heads"]["itk"]
        by = _by_method(r["rows"])
        rows.append([load_variant(name)["description"], f"`{name}`", f"{by['U-Net']['psnr_gaps']:.2f}",
                     f"{by['U-Net, shift-averaged']['psnr_gaps']:.2f}", f"{r['real_check_psnr']:.2f}",
                     f"{r['real_check_psnr_shift_averaged']:.2f}"])
    return _md(["variant", "file", "itk", "itk, shift-averaged", "real-image check", "real-image check, shift-averaged"],
               rows, "|---|---|---:|---:|---:|---:|")


def joint() -> str:
    data = _load("joint-full6-unique.json")
    rows = []
    for head, r in data["heads"].items():
        s = r["scores"]
        for name in ("separate", "joint"):
            rows.append([head, name, f"{s[name]:.2f}", f"{s[name + ', shift-averaged']:.2f}",
                         f"{s[name + ', self-trained + shift-averaged']:.2f}",
                         f"{s[name + ': real-image check, shift-averaged']:.2f}"])
    return _md(["held-out head", "training", "PSNR gaps (dB)", "shift-averaged", "self-trained + shift-averaged",
                "real-image check, shift-averaged"], rows, "|---|---|---:|---:|---:|---:|")


def _adapt_rows(name: str) -> list[list]:
    rows = []
    for r in _load(name)["rows"]:
        real = r.get("real_check_cross_fitted")
        rows.append([r["method"], f"{r['proxy_psnr_gaps']:.2f}", f"{r['proxy_ssim_gaps']:.3f}", f"{r['minutes']:.1f}",
                     f"{real:.2f}" if real is not None else "-"])
    return rows


def adapt() -> str:
    return _md(["method", "true proxy PSNR gaps (dB)", "proxy SSIM gaps", "minutes",
                "real-image check, cross-fitted (dB)"], _adapt_rows("adapt.json"))


def adapt_warp() -> str:
    return _md(["method", "true proxy PSNR gaps (dB)", "proxy SSIM gaps", "minutes",
                "real-image check, cross-fitted (dB)"], _adapt_rows("adapt-warp.json"))


def adapt_steps() -> str:
    data = _load("adapt-steps.json")
    rows = data["rows"]
    averaged = next(k for k in rows[0] if k.startswith("shift"))
    return _md(["self-training steps", "plain fill (dB)", f"shift-averaged fill, {averaged[5:]} windows (dB)",
                "minutes"],
               [[r["steps"], f"{r['plain']:.2f}", f"{r[averaged]:.2f}", f"{r['seconds'] / 60:.1f}"] for r in rows])


def ceiling() -> str:
    heads = _load("ceiling.json")["heads"]
    methods = list(_by_method(next(iter(heads.values()))["rows"]))
    for r in heads.values():
        methods += [m for m in _by_method(r["rows"]) if m not in methods]
    rows = []
    for method in methods:
        cells = []
        for r in heads.values():
            by = _by_method(r["rows"])
            bih = by["biharmonic"]["psnr_gaps"]
            if method not in by:
                cells.append("-")
            elif method == "biharmonic":
                cells.append(f"{bih:.2f}")
            else:
                cells.append(f"{by[method]['psnr_gaps']:.2f} ({by[method]['psnr_gaps'] - bih:+.2f})")
        rows.append([method, *cells])
    return _md(["true PSNR on the proxy's gaps, dB (minus biharmonic)", *heads], rows)


def seen_heads() -> str:
    rows = []
    for head in ("colin27", "robex", "itk", "brainbrowser"):
        by = _by_method(_load(f"seen-shipped-{head}.json")["rows"])
        net, bih = by["shipped"]["psnr_gaps"], by["biharmonic"]["psnr_gaps"]
        rows.append([head, f"{bih:.2f}", f"{net:.2f}", f"{net - bih:+.2f}"])
    return _md(["head (in the final network's training mix)", "biharmonic", "final network", "final - biharmonic"],
               rows)


def source_heads() -> str:
    return _md(["source", "mean-image correlation (observed pixels)", "nearest-neighbour MSE"],
               [[r["source"], f"{r['corr']:.3f}", f"{r['nn_mse']:.4f}"] for r in _load("heads.json")["rows"]])


def framing() -> str:
    """Framing statistics of the training mix and the held-out head, before and after matching, against the test images."""
    from mri_inpaint.fidelity import FRAMING_STATS

    result = _load("framing.json")
    sets = result["sets"]
    rows = []
    for key, title in FRAMING_STATS.items():
        t = result["test"][key]
        rows.append([title, f"{t['mean']:.3f} ± {t['sd']:.3f}",
                     *(f"{s['mean']:.3f} ± {s['sd']:.3f} (z {s['z']:+.1f})"
                       for s in (row["framing"]["stats"][key] for row in sets.values()))])
    rows.append(["within the test images' mean ± 1 sd", "",
                 *(f"{row['framing']['within']} of {row['framing']['of']}" for row in sets.values())])
    return _md(["statistic (observed pixels, tissue > 0.1)", "test images", *sets], rows)


def framing_variants() -> str:
    """The training mix's framing under each warp: statistics within the test's spread, and those out (z)."""
    result = _load("framing-variants.json")
    rows = []
    for name, row in result["sets"].items():
        stats = row["framing"]["stats"]
        out = [f"{key} (z {s['z']:+.1f})" for key, s in stats.items() if not s["within"]]
        rows.append([f"`{name}`", f"{row['framing']['within']} of {row['framing']['of']}",
                     f"{stats['crown_ratio']['z']:+.1f}", ", ".join(out) or "none"])
    return _md(["variant", "within the test images' mean ± 1 sd", "crown roundness, z", "statistics out"], rows)


#: The leave-one-head-out runs before and after the matched framing, with each warp, short and at the final
#: length (``bench/results/loho-<name>.json``; ``-rerun``: the same variant run again, for the spread).
FRAMING_VARIANTS = ("framing-today", "framing-matched", "framing-matched-elastic10", "framing-matched-elastic10-rerun",
                    "framing-matched-elastic15", "elastic10-knots3", "elastic15-knots3", "edge8", "edge10-elastic15",
                    "edge8-outline03", "final-elastic10", "final-elastic15-knots3", "final-edge8-outline03",
                    "final-crown60-80", "final-elastic15-crown60-80")


def framing_loho() -> str:
    """Leave-one-head-out runs before and after the matched framing, scored on test-framed held-out slices."""
    rows = []
    runs = {name: _load(f"loho-{name}.json") for name in FRAMING_VARIANTS
            if (RESULTS / f"loho-{name}.json").exists()}  # a variant still running has no file yet
    for head in dict.fromkeys(h for run in runs.values() for h in run["heads"]):
        for name, run in runs.items():
            if head not in run["heads"]:
                continue
            r, settings = run["heads"][head], run["settings"]
            by = _by_method(r["rows"])
            net, bih = by["U-Net"]["psnr_gaps"], by["biharmonic"]["psnr_gaps"]
            label = f"`{name}` (at `{RERUN_COMMITS[name]}`)" if name in RERUN_COMMITS else f"`{name}`"
            length = f"{settings['num_images']:,} × {settings['epochs']}"
            rows.append([head, label, length, f"{bih:.2f}", f"{net:.2f}", f"{net - bih:+.2f}",
                         f"{by['U-Net, shift-averaged']['psnr_gaps']:.2f}", f"{r['real_check_psnr']:.2f}",
                         f"{r['real_check_psnr_shift_averaged']:.2f}"])
    return _md(["held-out head", "variant", "images × epochs", "biharmonic", "U-Net", "U-Net - biharmonic",
                "U-Net, shift-averaged", "real-image check", "real-image check, shift-averaged"], rows)


TABLES = {f.__name__: f for f in (final_held_out_head, final_real_check, final_history, loho, loho_full, variants,
                                  variants_full, joint, adapt, adapt_warp, adapt_steps, ceiling, seen_heads,
                                  source_heads, framing, framing_variants, framing_loho)}
BLOCK = re.compile(r"(<!-- table: (\w+) -->\n)(.*?)(<!-- /table -->)", re.S)


def table(name: str) -> str:
    """The Markdown table ``name`` of :data:`TABLES`, from its result file."""
    return TABLES[name]()


def fill_doc(text: str) -> str:
    """``text`` with every table block replaced by its generated table."""
    return BLOCK.sub(lambda m: m.group(1) + table(m.group(2)) + "\n" + m.group(4), text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"rewrite the tables inside {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.write:
        DOC.write_text(fill_doc(DOC.read_text()))
        print(f"rewrote the tables of {DOC}")
        return 0
    for name in TABLES:
        print(f"<!-- table: {name} -->\n{table(name)}\n<!-- /table -->\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
