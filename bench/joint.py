"""Joint training: the real images' observed pixels in every training step, against self-training at the end.

    python -m bench.joint --heads itk --variant full6-unique [--weight 1.0]

For a held-out head, a network is trained on the other heads as ``bench.loho`` trains it, but every
step also takes a batch of the head's 100 slices under the exact test mask (only their observed
pixels: the labelled proxy of the test images) through self-training's re-masking pairs
(:func:`~mri_inpaint.adapt.self_training_batch`, pseudo-fills refreshed every ``refresh_every``
steps), weighted by ``--weight`` (Joint supervised and self-supervised learning, arXiv 2311.15856;
test-time training, Darestani et al. 2022). It is scored by the true PSNR on those slices' gaps,
before and after the usual self-training at the end, against the network ``bench.loho`` trained
for the same variant (``runs/loho-<variant>/<head>``, run that first) with the same self-training.
Writes ``bench/results/joint-<variant>.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import numpy as np
import torch

from bench.common import (RESULTS, bench_paths, held_out_images, load_variant, loho_config, loho_images,
                          run_length)
from mri_inpaint.adapt import self_train, self_training_batch
from mri_inpaint.check import real_image_check
from mri_inpaint.checkpoint import build_model, load_model
from mri_inpaint.evaluate import compare_methods, methods_table
from mri_inpaint.fill import predict
from mri_inpaint.losses import masked_l1
from mri_inpaint.masks import corrupt
from mri_inpaint.model import with_shifts
from mri_inpaint.pipeline import anchor_images, load_inputs
from mri_inpaint.train import train

PROXY_IMAGES = 100  # slices of the held-out head, as the notebook's robex stand-in


class JointLoss:
    """Self-training's loss on real images' observed pixels, for one training step at a time.

    Args:
        real_images: corrupted ``(N, 1, H, W)`` images (only observed pixels are used).
        mask: bool ``(H, W)``, True where missing.
        weight: the loss's weight beside the synthetic loss.
        batch_size: real images per step.
        refresh_every: steps between re-computing the pseudo-fills (plain fills).
    """

    def __init__(self, real_images: np.ndarray, mask: np.ndarray, *, weight: float, batch_size: int = 16,
                 refresh_every: int = 100, seed: int = 0):
        self.real_images, self.mask = real_images, mask
        self.real = torch.from_numpy(real_images)
        self.weight, self.batch_size, self.refresh_every = weight, batch_size, refresh_every
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.step, self.pseudo = 0, None

    def __call__(self, model) -> torch.Tensor:
        if self.step % self.refresh_every == 0:
            self.pseudo = torch.from_numpy(predict(with_shifts(model, 1), self.real_images, self.mask))
        self.step += 1
        idx = torch.randint(len(self.real), (self.batch_size,), generator=self.gen)
        inp, m, target, w = self_training_batch(self.pseudo[idx], self.real[idx], self.mask, self.rng)
        device = next(model.parameters()).device
        return self.weight * masked_l1(model(inp.to(device), m.to(device)), target.to(device), w.to(device))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", default="itk", help="held-out heads, one at a time")
    parser.add_argument("--variant", default="full6-unique", help="bench/variants/ file: the run's length and settings")
    parser.add_argument("--weight", type=float, default=1.0, help="weight of the real-image loss")
    parser.add_argument("--adapt-steps", type=int, default=None, help="self-training steps (default: the preset's)")
    args = parser.parse_args(argv)
    variant = load_variant(args.variant)
    num_images, epochs = run_length(variant)
    test = load_inputs()
    out = RESULTS / f"joint-{args.variant}.json"
    results = {"settings": {"variant": args.variant, "weight": args.weight, "proxy_images": PROXY_IMAGES,
                            "num_images": num_images, "epochs": epochs}, "heads": {}}
    for head in args.heads.split(","):
        cfg = loho_config(head, num_images, epochs, variant["train"])
        if args.adapt_steps is not None:
            cfg.adapt.steps = args.adapt_steps
        loho_paths = bench_paths(f"loho-{args.variant}/{head}")  # the bench.loho run: its images and network
        separate = loho_paths.run_dir / "last.pt"
        if not separate.exists():
            raise SystemExit(f"{separate} is missing: run python -m bench.loho --heads {head} --variant {args.variant} first")
        clean = held_out_images(head, PROXY_IMAGES)
        proxy = corrupt(clean, test.mask)
        images = loho_images(cfg, loho_paths, variant["anatomy"])
        anchors = anchor_images(images, cfg.adapt)
        paths = bench_paths(f"joint-{args.variant}-w{args.weight:g}/{head}")
        t0 = time.perf_counter()
        state = train(cfg.train, images, test.mask, paths.run_dir, resume=True, progress=False, device="cpu",
                      record={**asdict(cfg), "joint": {"head": head, "weight": args.weight}},
                      extra_loss=JointLoss(proxy, test.mask, weight=args.weight))
        minutes = (time.perf_counter() - t0) / 60
        networks = {"joint": build_model(state, "cpu"), "separate": load_model(separate)}
        scores = {}
        for name, net in networks.items():
            shifted = with_shifts(net, cfg.train.test_time_shifts)
            adapted = self_train(shifted, proxy, test.mask, anchors, cfg.adapt, progress=False)
            table = {name: with_shifts(net, 1), f"{name}, shift-averaged": shifted,
                     f"{name}, self-trained + shift-averaged": adapted}
            for r in compare_methods(clean, test.mask, methods_table(table, baselines=False)):
                scores[r["method"]] = r["psnr_gaps"]
            scores[f"{name}: real-image check, shift-averaged"] = real_image_check(shifted, test.images,
                                                                                  test.mask)["psnr"]
        results["heads"][head] = {"scores": scores, "training_minutes": minutes}
        for k, v in scores.items():
            print(f"{head}: {k}: {v:.2f}", flush=True)
        out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
