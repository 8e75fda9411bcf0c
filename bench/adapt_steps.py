"""How many self-training steps the final fill needs: the gain on a head never trained on, step by step.

    python -m bench.adapt_steps [--run runs/notebook-full] [--steps 600] [--every 100]

Self-trains the run's trained network (``best.pt``; its training never drew the held-out head)
on 100 slices of the held-out head through the exact test mask, exactly as the final fill
adapts to the test images, and scores the true gap PSNR of the plain and the shift-averaged
fill every ``--every`` steps. Self-training runs four times in the notebook (the held-out head,
the test images, the two folds of the cross-fitted check), so its length is a large share of
the notebook's time. Writes ``bench/results/adapt-steps.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import RESULTS

from mri_inpaint.adapt import self_train
from mri_inpaint.checkpoint import load_checkpoint, load_model
from mri_inpaint.config import AdaptConfig, Config, with_overrides
from mri_inpaint.fill import predict
from mri_inpaint.holdout import held_out_slices
from mri_inpaint.masks import corrupt
from mri_inpaint.metrics import evaluate_fill
from mri_inpaint.model import with_shifts
from mri_inpaint.paths import Paths
from mri_inpaint.pipeline import anchor_images, load_inputs, training_images


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/notebook-full"), help="run folder holding best.pt")
    parser.add_argument("--steps", type=int, default=600, help="self-training steps in all")
    parser.add_argument("--every", type=int, default=100, help="score every this many steps")
    parser.add_argument("--out", type=Path, default=RESULTS / "adapt-steps.json", help="JSON results")
    args = parser.parse_args(argv)

    cfg = with_overrides(Config(), data=load_checkpoint(args.run / "best.pt")["config"]["data"])
    head, n = cfg.data.held_out_head, cfg.data.held_out_images
    model = load_model(args.run / "best.pt")
    mask = load_inputs().mask
    clean = held_out_slices(head, n)
    corrupted = corrupt(clean, mask)
    adapt = AdaptConfig(steps=args.steps)
    anchors = anchor_images(training_images(cfg, Paths.default(), progress=False), adapt)
    shifts = getattr(model, "test_time_shifts", 1)

    def score(net):
        return {"plain": evaluate_fill(predict(with_shifts(net, 1), corrupted, mask), clean, mask)["psnr_gaps"],
                f"shift{shifts}": evaluate_fill(predict(with_shifts(net, shifts), corrupted, mask), clean,
                                                mask)["psnr_gaps"]}

    rows = [{"steps": 0, "seconds": 0.0, **score(model)}]
    print(rows[-1], flush=True)
    start = time.perf_counter()
    paused = [0.0]

    def on_step(done, net):
        if done % args.every == 0:
            t0 = time.perf_counter()
            rows.append({"steps": done, "seconds": t0 - start - paused[0], **score(net)})
            print(rows[-1], flush=True)
            paused[0] += time.perf_counter() - t0

    self_train(model, corrupted, mask, anchors, adapt, progress=False, on_step=on_step)
    args.out.write_text(json.dumps({"run": str(args.run), "held_out_head": head, "images": n,
                                    "adapt": adapt.__dict__, "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
