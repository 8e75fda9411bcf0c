"""The choices that matter, each with the measured difference its result file holds (``bench/results/``).

    python -m bench.choices        # print the table (Markdown)

Every number is read from a result file when the table is built; a choice without a run says
"no run". A difference is the adopted choice minus the alternative, in dB of PSNR on the gaps of
a head the network never saw (positive: the adopted choice fills better). Commands are the ones
that wrote each file; a command for an option since removed from the code runs at the commit that
wrote its file (``git log bench/results/FILE``). This module imports neither torch nor the
package, so the notebook can show the table without the benchmarks' dependencies.
"""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# A measure names one number in a result file:
#   ("loho", file, head, method)   psnr_gaps of a method's row for a held-out head (bench.loho)
#   ("adapt", file, method)        proxy_psnr_gaps of an adaptation method's row (bench.adapt, robex)
#   ("steps", file, steps, column) a fill's PSNR after that many self-training steps (bench.adapt_steps, robex)
SHORT = "short run: 8,000 images x 2 epochs"
FINAL = "final length: 60,000 images x 1 epoch"
#: The choices, in table order: what was adopted, against what, on which run, with the measures behind it
#: (``evidence``: ``[(head, adopted measure, alternative measure)]``; empty: no run).
CHOICES = [
    {"choice": "2 poolings (U-Net depth)", "alternative": "1 or 3 poolings", "evidence": []},
    {"choice": "32 channels at full resolution", "alternative": "48 channels", "evidence": []},
    {"choice": "peak learning rate 2e-3", "alternative": "3e-3", "run": FINAL,
     "command": "python -m bench.loho --heads itk --variant full6-unique-lr3e3",
     "evidence": [("itk", ("loho", "loho-full6-unique.json", "itk", "U-Net"),
                   ("loho", "loho-full6-unique-lr3e3.json", "itk", "U-Net"))]},
    {"choice": "32 images per step", "alternative": "16 images per step",
     "run": "final length: 20,000 images x 3 epochs",
     "command": "python -m bench.loho --heads itk --variant full6-batch16",
     "evidence": [("itk", ("loho", "loho-full6.json", "itk", "U-Net"),
                   ("loho", "loho-full6-batch16.json", "itk", "U-Net"))]},
    {"choice": "32 images per step", "alternative": "16 images per step", "run": SHORT,
     "command": "python -m bench.loho --heads robex --variant batch16",
     "evidence": [("robex", ("loho", "loho-defaults.json", "robex", "U-Net"),
                   ("loho", "loho-batch16.json", "robex", "U-Net"))]},
    {"choice": "30% of training masks shifted", "alternative": "another share", "evidence": []},
    {"choice": "elastic warp 0.1 of the frame", "alternative": "0.05", "run": SHORT + ", five-head mix",
     "command": "python -m bench.loho --heads robex,itk --variant elastic05",
     "evidence": [(h, ("loho", "loho-elastic10.json", h, "U-Net"), ("loho", "loho-elastic05.json", h, "U-Net"))
                  for h in ("robex", "itk")]},
    {"choice": "elastic warp 0.1 of the frame", "alternative": "0.15", "run": SHORT + ", five-head mix",
     "command": "python -m bench.loho --heads robex,itk --variant elastic15",
     "evidence": [(h, ("loho", "loho-elastic10.json", h, "U-Net"), ("loho", "loho-elastic15.json", h, "U-Net"))
                  for h in ("robex", "itk")]},
    {"choice": "elastic field on a 5x5 knot grid, 0.1 of the frame",
     "alternative": "3x3 grid, 0.15 (round crowns, all framing statistics within)",
     "run": "final length: 16,000 images x 8 epochs, matched framing",
     "command": "python -m bench.loho --heads itk --variant final-elastic15-knots3",
     "evidence": [("itk", ("loho", "loho-final-elastic10.json", "itk", "U-Net"),
                   ("loho", "loho-final-elastic15-knots3.json", "itk", "U-Net"))]},
    {"choice": "elastic field on a 5x5 knot grid, 0.1 of the frame", "alternative": "3x3 grid, 0.1",
     "run": SHORT + ", matched framing",
     "command": "python -m bench.loho --heads robex,itk --variant elastic10-knots3",
     "evidence": [(h, ("loho", "loho-framing-matched-elastic10.json", h, "U-Net"),
                   ("loho", "loho-elastic10-knots3.json", h, "U-Net")) for h in ("robex", "itk")]},
    {"choice": "elastic field on a 5x5 knot grid, 0.1 of the frame, bending the outline",
     "alternative": "the field faded to zero over 8 px at the outline, plus 0.03 on a 3x3 grid (round crowns, "
                    "all framing statistics within)",
     "run": "final length: 16,000 images x 8 epochs, matched framing",
     "command": "python -m bench.loho --heads itk --variant final-edge8-outline03",
     "evidence": [("itk", ("loho", "loho-final-elastic10.json", "itk", "U-Net"),
                   ("loho", "loho-final-edge8-outline03.json", "itk", "U-Net"))]},
    {"choice": "elastic field on a 5x5 knot grid, 0.1 of the frame, bending the outline",
     "alternative": "the field faded to zero over 8 px at the outline (the outline only rotated, scaled, shifted)",
     "run": SHORT + ", matched framing",
     "command": "python -m bench.loho --heads robex,itk --variant edge8",
     "evidence": [(h, ("loho", "loho-framing-matched-elastic10.json", h, "U-Net"),
                   ("loho", "loho-edge8.json", h, "U-Net")) for h in ("robex", "itk")]},
    {"choice": "L1 loss on the gaps", "alternative": "squared error (MSE)",
     "run": SHORT + ", five-head mix, elastic warp 0.05",
     "command": "python -m bench.loho --heads robex,itk --variant mse",
     "evidence": [(h, ("loho", "loho-elastic05.json", h, "U-Net"), ("loho", "loho-mse.json", h, "U-Net"))
                  for h in ("robex", "itk")]},
    {"choice": "2x2 max pooling", "alternative": "blur pooling (max at stride 1, blur at stride 2)", "run": SHORT,
     "command": "python -m bench.loho --heads robex --variant blurpool",
     "evidence": [("robex", ("loho", "loho-defaults.json", "robex", "U-Net"),
                   ("loho", "loho-blurpool.json", "robex", "U-Net"))]},
    {"choice": "two 3x3 convolutions with GroupNorm per level", "alternative": "NAFNet's block", "run": SHORT,
     "command": "python -m bench.loho --heads robex --variant naf",
     "evidence": [("robex", ("loho", "loho-defaults.json", "robex", "U-Net"),
                   ("loho", "loho-naf.json", "robex", "U-Net"))]},
    {"choice": "8 epochs over 16,000 images", "alternative": "a longer schedule", "evidence": []},
    {"choice": "self-training, 200 steps", "alternative": "no self-training",
     "run": "a 7-epoch notebook network, plain fill",
     "command": "python -m bench.adapt_steps",
     "evidence": [("robex", ("steps", "adapt-steps.json", 200, "plain"), ("steps", "adapt-steps.json", 0, "plain"))]},
    {"choice": "self-training, 200 steps", "alternative": "600 steps", "run": "a 7-epoch notebook network, plain fill",
     "command": "python -m bench.adapt_steps",
     "evidence": [("robex", ("steps", "adapt-steps.json", 200, "plain"),
                   ("steps", "adapt-steps.json", 600, "plain"))]},
    {"choice": "self-training on re-masked pseudo-fills", "alternative": "hiding observed pixels (split)",
     "run": "2 minutes of self-training each, an earlier network, anchor weight 1.0 for both",
     "command": "python -m bench.adapt",
     "evidence": [("robex", ("adapt", "adapt.json", "pseudo, anchor weight 1.0 (the earlier comparison)"),
                   ("adapt", "adapt.json", "split"))]},
    {"choice": "anchor weight 0.5 (synthetic pairs in self-training)", "alternative": "1.0",
     "run": "2 minutes of self-training each, an earlier network", "command": "python -m bench.adapt",
     "evidence": [("robex", ("adapt", "adapt.json", "pseudo"), ("adapt", "adapt.json", "pseudo, anchor weight 1.0"))]},
    {"choice": "anchor weight 0.5 (synthetic pairs in self-training)", "alternative": "no anchors (0)",
     "run": "2 minutes of self-training each, an earlier network", "command": "python -m bench.adapt",
     "evidence": [("robex", ("adapt", "adapt.json", "pseudo"), ("adapt", "adapt.json", "pseudo, no anchors"))]},
    {"choice": "(reference) one training seed", "alternative": "a second seed", "run": FINAL,
     "command": "python -m bench.loho --heads itk --variant full6-unique-seed1",
     "evidence": [("itk", ("loho", "loho-full6-unique.json", "itk", "U-Net"),
                   ("loho", "loho-full6-unique-seed1.json", "itk", "U-Net"))]},
]


def read(measure: tuple, results: Path = RESULTS) -> float:
    """The number ``measure`` names (see :data:`CHOICES`), read from its result file under ``results``."""
    kind, file, *where = measure
    data = json.loads((Path(results) / file).read_text())
    if kind == "loho":
        head, method = where
        rows = data["heads"][head]["rows"]
        return float(next(r["psnr_gaps"] for r in rows if r["method"] == method))
    if kind == "adapt":
        (method,) = where
        return float(next(r["proxy_psnr_gaps"] for r in data["rows"] if r["method"] == method))
    if kind == "steps":
        steps, column = where
        return float(next(r[column] for r in data["rows"] if r["steps"] == steps))
    raise ValueError(f"unknown measure kind {kind!r}: expected loho, adapt or steps")


def choices_table(results: Path | str = RESULTS) -> list[dict]:
    """One row per choice: ``{"choice", "alternative", "run", "command", "files", "evidence"}``.

    ``evidence`` is ``[{"head", "adopted_db", "alternative_db", "difference_db"}]``, read from
    the files under ``results`` (empty for a choice without a run: ``run``, ``command`` and
    ``files`` are then None, None and ``[]``).
    """
    rows = []
    for spec in CHOICES:
        evidence, files = [], []
        for head, adopted, alternative in spec["evidence"]:
            a, b = read(adopted, results), read(alternative, results)
            evidence.append({"head": head, "adopted_db": a, "alternative_db": b, "difference_db": a - b})
            for measure in (adopted, alternative):
                if measure[1] not in files:
                    files.append(measure[1])
        rows.append({"choice": spec["choice"], "alternative": spec["alternative"], "run": spec.get("run"),
                     "command": spec.get("command"), "files": files, "evidence": evidence})
    return rows


def format_choices(rows: list[dict]) -> str:
    """Markdown table of :func:`choices_table` rows."""
    lines = ["| choice | alternative | adopted - alternative (dB, gaps of a head never trained on) | run | command "
             "| result files (`bench/results/`) |", "|---|---|---|---|---|---|"]
    for r in rows:
        if not r["evidence"]:
            lines.append(f"| {r['choice']} | {r['alternative']} | no run | - | - | - |")
            continue
        diff = ", ".join(f"{e['difference_db']:+.2f} ({e['head']})" for e in r["evidence"])
        files = ", ".join(f"`{f}`" for f in r["files"])
        lines.append(f"| {r['choice']} | {r['alternative']} | {diff} | {r['run']} | `{r['command']}` | {files} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_choices(choices_table()))
