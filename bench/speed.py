"""Speed benchmark on this machine: image sampling, training throughput, time to quality, filling.

    python bench/speed.py [--history runs/main/history.json] [--weights weights/inpaint_unet.pt]

Writes bench/results/speed.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mri_inpaint.evaluate import predict  # noqa: E402
from mri_inpaint.masks import DEFAULT_STRIPES, corrupt, stripe_mask  # noqa: E402
from mri_inpaint.model import InpaintNet  # noqa: E402
from mri_inpaint.sources import AnatomySource  # noqa: E402
from mri_inpaint.train import TrainConfig, load_model, masked_l1  # noqa: E402


def timed(fn, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=Path, default=ROOT / "runs/main/history.json", help="training log")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights/inpaint_unet.pt", help="trained weights")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/speed.json", help="JSON results")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    res = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
                      f"{torch.__version__}, {torch.get_num_threads()} threads"}

    source = AnatomySource()
    source.sample(64, 0)
    res["sampling_images_per_s"] = 2000 / timed(lambda: source.sample(2000, 1), 2)

    cfg = TrainConfig()
    model = InpaintNet(chans=cfg.chans, num_pool_layers=cfg.num_pool_layers)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    mask = stripe_mask(DEFAULT_STRIPES)
    clean = torch.from_numpy(source.sample(cfg.batch_size, 2))
    m = torch.from_numpy(mask)[None, None].float().expand_as(clean)

    def step():
        loss = masked_l1(model(corrupt(clean, mask), m), clean, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    step()
    res["train_images_per_s"] = cfg.batch_size * 10 / timed(lambda: [step() for _ in range(10)], 2)

    if args.weights.exists():
        trained = load_model(args.weights)
        images = corrupt(source.sample(100, 3), mask)
        predict(trained, images[:8], mask)
        res["fill_100_seconds"] = timed(lambda: predict(trained, images, mask))
    if args.history.exists():
        hist = json.loads(args.history.read_text())
        final = hist[-1]["val_psnr_gaps"]
        elapsed = np.cumsum([h["seconds"] for h in hist])
        reach = next(i for i, h in enumerate(hist) if h["val_psnr_gaps"] >= final - 0.1)
        res["training_minutes_total"] = float(elapsed[-1] / 60)
        res["minutes_to_within_0.1db_of_final"] = float(elapsed[reach] / 60)
        res["final_val_psnr_gaps"] = final

    print("| measure | value |\n|---|---|")
    for k, v in res.items():
        print(f"| {k} | {v:.2f} |" if isinstance(v, float) else f"| {k} | {v} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
