"""Fidelity of the embedded anatomy source to the real test set, and its sampling speed.

The test mask is applied to N embedded images (``AnatomySource().sample``) and their
OBSERVED pixels are compared with those of the real test images: pixel mean/std,
Wasserstein (earth mover's) distance and 32-bin histogram L1 of the observed values,
head-area fraction, head top row and left/right extent, horizontal-gradient energy on
adjacent observed pixel pairs, fine detail (mean absolute vertical second difference on three
vertically adjacent observed pixels), and the radially averaged power spectrum of row-wise
linearly interpolated images (so the gaps do not dominate it). A reference column
compares the second half of the test set with the first: what "indistinguishable"
looks like at that sample size; a like-for-like column compares the same number of
embedded images with the first half.

Usage::

    python -m bench.fidelity [--test-set PATH] [--n 1000] [--variant NAME] [--out bench/results/fidelity.json]

Prints a Markdown table; writes the JSON (``--out``), ``figures/contact_sheet.png`` and
``figures/power_spectrum.png`` (``--figures``).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import wasserstein_distance

from bench.common import ROOT, load_variant
from mri_inpaint.baselines import row_interpolate_np
from mri_inpaint.data import find_test_set, load_test_set
from mri_inpaint.masks import infer_mask
from mri_inpaint.sources.anatomy import AnatomyParams, AnatomySource

#: Observed pixels above this are "head" (the test background stays below ~0.02).
HEAD_THRESHOLD = 0.08
#: A row/column belongs to the head when it has at least this many observed head pixels.
MIN_HEAD_PIXELS = 3
HIST_BINS = 32
SEED = 12345


# ---------------------------------------------------------------- statistics
def per_image_stats(images: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image statistics of ``(N, H, W)`` images on the observed pixels (mask False)."""
    obs = ~mask
    head = (images > HEAD_THRESHOLD) & obs
    rows_on = head.sum(axis=2) >= MIN_HEAD_PIXELS  # (N, H)
    cols_on = head.sum(axis=1) >= MIN_HEAD_PIXELS  # (N, W)
    H, W = mask.shape

    def first(on):  # index of the first True, or the length if none
        return np.where(on.any(axis=1), on.argmax(axis=1), on.shape[1]).astype(float)

    pairs = obs[:, 1:] & obs[:, :-1]  # horizontally adjacent observed pixels
    dx = np.diff(images, axis=2)[:, pairs]
    triples = obs[2:] & obs[1:-1] & obs[:-2]  # three vertically adjacent observed pixels
    d2y = (images[:, 2:] - 2 * images[:, 1:-1] + images[:, :-2])[:, triples]
    return {
        "mean": images[:, obs].mean(axis=1),
        "std": images[:, obs].std(axis=1),
        "head_fraction": head.sum(axis=(1, 2)) / obs.sum(),
        "top_row": first(rows_on),
        "left_col": first(cols_on),
        "right_col": W - 1 - first(cols_on[:, ::-1]),
        "hgrad_energy": (dx ** 2).mean(axis=1),
        "fine_detail": np.abs(d2y).mean(axis=1),
    }


def radial_spectrum(images: np.ndarray) -> np.ndarray:
    """Radially averaged power spectrum (mean over images) of ``(N, H, W)``, radii 1..H/2."""
    n, H, W = images.shape
    x = images - images.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(x)) ** 2).mean(axis=0) / (H * W)
    ky, kx = np.meshgrid(np.fft.fftfreq(H) * H, np.fft.fftfreq(W) * W, indexing="ij")
    r = np.rint(np.hypot(ky, kx)).astype(int)
    kmax = min(H, W) // 2
    sums = np.bincount(r.ravel(), weights=power.ravel(), minlength=kmax + 1)
    counts = np.bincount(r.ravel(), minlength=kmax + 1)
    return (sums / np.maximum(counts, 1))[1 : kmax + 1]


def summarise(images: np.ndarray, mask: np.ndarray) -> dict:
    """Statistics of one set: per-image stats, pooled observed values and the spectrum."""
    stats = per_image_stats(images, mask)
    filled = row_interpolate_np(images[:, None].astype(np.float32), mask)[:, 0]
    return {"n": len(images), "stats": stats, "values": images[:, ~mask].ravel(),
            "spectrum": radial_spectrum(filled)}


def compare(a: dict, b: dict) -> dict:
    """Distances between two summarised sets (``a`` vs ``b``)."""
    edges = np.linspace(0, 1, HIST_BINS + 1)
    ha = np.histogram(a["values"], edges)[0] / a["values"].size
    hb = np.histogram(b["values"], edges)[0] / b["values"].size
    out = {
        "wasserstein": float(wasserstein_distance(a["values"], b["values"])),
        "hist_l1": float(np.abs(ha - hb).sum()),
        "log_spectrum_rms": float(np.sqrt(np.mean((np.log10(a["spectrum"]) - np.log10(b["spectrum"])) ** 2))),
    }
    for k in a["stats"]:
        out[f"delta_{k}"] = float(a["stats"][k].mean() - b["stats"][k].mean())
    return out


# ---------------------------------------------------------------- speed
def sampling_speed(source: AnatomySource, n: int = 2000, threads: int = 2) -> dict:
    torch.set_num_threads(threads)
    source.sample(64, seed=0)  # warm-up: asset load, allocator, kernels
    t0 = time.perf_counter()
    source.sample(n, seed=1)
    seconds = time.perf_counter() - t0
    return {"images": n, "threads": threads, "seconds": seconds, "images_per_s": n / seconds}


# ---------------------------------------------------------------- output
LABELS = {
    "mean": ("observed mean", "{:.4f}"),
    "std": ("observed std (within image)", "{:.4f}"),
    "head_fraction": (f"head fraction (obs > {HEAD_THRESHOLD})", "{:.3f}"),
    "top_row": ("head top row", "{:.1f}"),
    "left_col": ("head left column", "{:.1f}"),
    "right_col": ("head right column", "{:.1f}"),
    "hgrad_energy": ("h-gradient energy (obs pairs)", "{:.5f}"),
    "fine_detail": ("fine detail (vertical 2nd difference)", "{:.4f}"),
}
DISTANCES = {
    "wasserstein": "Wasserstein (observed values)",
    "hist_l1": f"histogram L1 ({HIST_BINS} bins)",
    "log_spectrum_rms": "log10 radial spectrum RMS diff",
}


def markdown_table(sets: dict, comps: dict) -> str:
    set_names = list(sets)
    comp_names = list(comps)
    head = ["statistic"] + [f"{k} (n={sets[k]['n']})" for k in set_names] + comp_names
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, (label, fmt) in LABELS.items():
        cells = [f"{fmt.format(sets[s]['stats'][key].mean())} ± {fmt.format(sets[s]['stats'][key].std())}"
                 for s in set_names]
        cells += [("Δ " + fmt.format(comps[c][f"delta_{key}"])).replace("Δ -", "Δ −") for c in comp_names]
        lines.append("| " + " | ".join([label] + cells) + " |")
    for key, label in DISTANCES.items():
        cells = ["—"] * len(set_names) + [f"{comps[c][key]:.4f}" for c in comp_names]
        lines.append("| " + " | ".join([f"**{label}**"] + cells) + " |")
    return "\n".join(lines)


def plot_spectrum(sets: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    k = np.arange(1, len(next(iter(sets.values()))["spectrum"]) + 1)
    fig, (ax, ax_r) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True, height_ratios=(2, 1), layout="constrained")
    styles = {"embedded": "C0", "test": "k", "test half A": "C2", "test half B": "C3"}
    for name, s in sets.items():
        if name in styles:
            ax.loglog(k, s["spectrum"], color=styles[name], label=f"{name} (n={s['n']})",
                      ls="-" if name in ("embedded", "test") else ":")
    ax.set(ylabel="radially averaged power", title="power spectrum (row-interpolated images)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ratio = lambda a, b: np.log10(sets[a]["spectrum"] / sets[b]["spectrum"])  # noqa: E731
    ax_r.semilogx(k, ratio("embedded", "test"), color="C0", label="log10(embedded / test)")
    ax_r.semilogx(k, ratio("test half B", "test half A"), color="C3", ls=":", label="log10(half B / half A)")
    ax_r.axhline(0, color="k", lw=0.8)
    ax_r.set(xlabel="spatial frequency (cycles per 64 px)", ylabel="log10 ratio")
    ax_r.legend(fontsize=8)
    ax_r.grid(alpha=0.3, which="both")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--test-set", type=Path, default=None, help="test set .npy (default: the usual search)")
    p.add_argument("--n", type=int, default=1000, help="number of embedded images compared")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fidelity.json", help="JSON results")
    p.add_argument("--figures", type=Path, default=ROOT / "figures", help="folder for the figures")
    p.add_argument("--variant", help="a variant of the embedded source: its name in bench/variants/")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    t_start = time.perf_counter()

    test = load_test_set(find_test_set(args.test_set, cwd=ROOT))[:, 0]
    mask = infer_mask(test)
    source = AnatomySource(AnatomyParams.from_overrides(load_variant(args.variant)["anatomy"]))
    clean = source.sample(args.n, seed=SEED)[:, 0]
    embedded = np.where(mask, 0, clean).astype(np.float32)
    half = len(test) // 2
    sets = {
        "embedded": summarise(embedded, mask),
        "test": summarise(test, mask),
        "test half A": summarise(test[:half], mask),
        "test half B": summarise(test[half:], mask),
        "embedded (first half-size)": summarise(embedded[: len(test) - half], mask),
    }
    comps = {
        "embedded vs test": compare(sets["embedded"], sets["test"]),
        f"embedded[:{len(test) - half}] vs half A": compare(sets["embedded (first half-size)"], sets["test half A"]),
        "half B vs half A (reference)": compare(sets["test half B"], sets["test half A"]),
    }
    table_sets = {k: sets[k] for k in ("embedded", "test", "test half A", "test half B")}
    speed = sampling_speed(source)

    from mri_inpaint.figures import contact_sheet
    import matplotlib.pyplot as plt

    sheet = args.figures / "contact_sheet.png"
    fig = contact_sheet(clean[:32], test[:32], titles=("embedded anatomy source (no mask)", "real test images"),
                        path=sheet)
    plt.close(fig)
    spectrum_png = args.figures / "power_spectrum.png"
    plot_spectrum(sets, spectrum_png)

    print(markdown_table(table_sets, comps))
    print(f"\nSampling speed: {speed['images_per_s']:.0f} images/s "
          f"({speed['images']} images in {speed['seconds']:.2f} s, {speed['threads']} threads, after warm-up)")
    result = {
        "n_embedded": args.n, "n_test": len(test), "seed": SEED, "missing_pixels": int(mask.sum()),
        "head_threshold": HEAD_THRESHOLD, "min_head_pixels": MIN_HEAD_PIXELS, "hist_bins": HIST_BINS,
        "source_params": source.params(),
        "sets": {k: {"n": s["n"], **{f"{m}_mean": float(v.mean()) for m, v in s["stats"].items()},
                     **{f"{m}_sd": float(v.std()) for m, v in s["stats"].items()},
                     "radial_spectrum": s["spectrum"].tolist()} for k, s in sets.items()},
        "comparisons": comps, "sampling_speed": speed,
        "figures": [str(sheet), str(spectrum_png)], "runtime_s": time.perf_counter() - t_start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {args.out}, {sheet}, {spectrum_png} ({result['runtime_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
