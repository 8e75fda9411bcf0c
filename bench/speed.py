"""Speed benchmark on this machine: image sampling, training throughput (threads x loader
workers, and the channels-last layout and bfloat16 autocast at 2 threads, through the real data
pipeline and training step), filling.

    python -m bench.speed [--weights weights/inpaint_unet.pt]

Writes bench/results/speed.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from bench.common import RESULTS
from mri_inpaint.checkpoint import load_model
from mri_inpaint.config import preset
from mri_inpaint.dataset import make_train_loaders
from mri_inpaint.fill import predict
from mri_inpaint.masks import DEFAULT_STRIPES, corrupt, stripe_mask
from mri_inpaint.model import InpaintNet
from mri_inpaint.paths import DEFAULT_WEIGHTS
from mri_inpaint.sources import AnatomySource
from mri_inpaint.train import lr_factor, train_step


def timed(fn, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def train_throughput(images, mask, *, threads: int, workers: int, steps: int = 30, channels_last: bool = False,
                     bfloat16: bool = False) -> float:
    """Images per second of the real training step fed by the real loader (optionally with the
    channels-last memory layout, or under bfloat16 autocast, which ``train_step``'s ``amp`` turns on)."""
    torch.set_num_threads(threads)
    cfg = preset().train
    loader, _ = make_train_loaders(images, mask, batch_size=cfg.batch_size, shift_prob=cfg.shift_prob)
    if workers:
        loader = torch.utils.data.DataLoader(loader.dataset, batch_size=cfg.batch_size, shuffle=True,
                                             num_workers=workers, drop_last=True)
    model = InpaintNet(chans=cfg.chans, num_pool_layers=cfg.num_pool_layers,
                       test_time_shifts=cfg.test_time_shifts)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(10, 1000))
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    batches = iter(loader)
    for _ in range(3):  # warm-up
        train_step(model, next(batches), opt, sched, scaler, amp=bfloat16)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(model, next(batches), opt, sched, scaler, amp=bfloat16)
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="trained weights")
    parser.add_argument("--out", type=Path, default=RESULTS / "speed.json", help="JSON results")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    res = {"machine": f"{platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__}"}

    source = AnatomySource()
    source.sample(64, 0)
    res["sampling_images_per_s"] = 2000 / timed(lambda: source.sample(2000, 1), 2)

    mask = stripe_mask(DEFAULT_STRIPES)
    images = source.sample(2000, 2)
    for threads in sorted({1, min(2, cores), cores}):
        for workers in (0, 1):
            res[f"train_images_per_s_{threads}_threads_{workers}_workers"] = train_throughput(
                images, mask, threads=threads, workers=workers)
    two = min(2, cores)
    res[f"train_images_per_s_{two}_threads_0_workers_channels_last"] = train_throughput(
        images, mask, threads=two, workers=0, channels_last=True)
    res[f"train_images_per_s_{two}_threads_0_workers_bfloat16"] = train_throughput(
        images, mask, threads=two, workers=0, steps=5, bfloat16=True)
    torch.set_num_threads(two)

    if args.weights.exists():
        trained = load_model(args.weights)
        test = corrupt(source.sample(100, 3), mask)
        predict(trained, test[:8], mask)
        res["fill_100_seconds"] = timed(lambda: predict(trained, test, mask))

    print("| measure | value |\n|---|---|")
    for k, v in res.items():
        print(f"| {k} | {v:.2f} |" if isinstance(v, float) else f"| {k} | {v} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
