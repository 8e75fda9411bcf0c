"""Training: a resumable loop over corrupted pairs with complete checkpoints (``last.pt``, ``best.pt``)."""
from __future__ import annotations

import csv
import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import load_checkpoint, make_state, save_checkpoint
from .config import TrainConfig
from .dataset import make_train_loaders
from .losses import masked_l1
from .metrics import evaluate_fill
from .model import InpaintNet, with_shifts
from .utils import atomic_write, pick_device

log = logging.getLogger(__name__)

#: ``on_epoch(model, row) -> dict``: extra scores added to an epoch's log row.
EpochHook = Callable[[InpaintNet, dict], dict]
#: ``extra_loss(model) -> loss``: a second loss added to every training step (the model in train mode).
StepLoss = Callable[[InpaintNet], torch.Tensor]


def lr_factor(warmup: int, total: int) -> Callable[[int], float]:
    """Learning-rate multiplier: linear warm-up over ``warmup`` steps, then cosine decay to 0."""
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return f


def _architecture(model_args: dict) -> dict:
    """The constructor arguments that shape the network (the fill's shift averaging does not)."""
    return {k: v for k, v in model_args.items() if k != "test_time_shifts"}


def train_step(model: InpaintNet, batch, opt, sched, scaler, *, amp: bool,
               extra_loss: StepLoss | None = None) -> float:
    """One optimisation step on a batch of ``(corrupted, mask, clean)``: the L1 loss on the missing
    pixels, plus ``extra_loss(model)`` if given."""
    device = next(model.parameters()).device
    corrupted, mask, clean = (t.to(device) for t in batch)
    with torch.autocast(device.type, enabled=amp):
        pred = model(corrupted, mask)
    loss = masked_l1(pred.float(), clean, mask)
    if extra_loss is not None:
        loss = loss + extra_loss(model)
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    sched.step()
    return loss.item()


@torch.no_grad()
def validate(model: InpaintNet, loader) -> dict:
    """Gap and whole-image metrics (:func:`~mri_inpaint.metrics.evaluate_fill`) on a validation loader."""
    model.eval()
    device = next(model.parameters()).device
    preds, targets, masks = [], [], []
    for corrupted, mask, clean in loader:
        preds.append(model(corrupted.to(device), mask.to(device)).float().cpu())
        targets.append(clean)
        masks.append(mask)
    mask = torch.cat(masks).numpy().astype(bool)
    return evaluate_fill(torch.cat(preds).numpy(), torch.cat(targets).numpy(), mask)


def train(cfg: TrainConfig, images: np.ndarray, mask: np.ndarray, run_dir: Path | str, *,
          resume: bool = False, progress: bool = True, device: str | torch.device = "auto",
          record: dict | None = None, on_epoch: EpochHook | None = None,
          extra_loss: StepLoss | None = None) -> dict:
    """Train an :class:`InpaintNet` and keep ``last.pt``/``best.pt`` under ``run_dir``.

    Args:
        cfg: training configuration.
        images: clean float32 ``(N, 1, 64, 64)`` in [0, 1] (split into train/validation here).
        mask: bool ``(64, 64)``, True where missing.
        run_dir: folder for checkpoints and logs.
        resume: continue from ``run_dir/last.pt``; the run then ends exactly where an
            uninterrupted run would.
        device: "auto", "cpu", "cuda" or a device.
        record: the settings stored as the checkpoints' ``config`` (default ``asdict(cfg)``).
        on_epoch: optional hook whose returned scores are added to each epoch's log row.
        extra_loss: optional second loss added to every step (``bench/joint.py``: the real images'
            observed pixels from the start); the logged training loss includes it, and its own random
            state is not checkpointed.

    Each epoch is validated, and handed to ``on_epoch``, with the plain fill (one window): the
    shift-averaged fill costs four times as much and is judged once, at the end.

    Returns:
        the last checkpoint state (:mod:`~mri_inpaint.checkpoint` format, with ``resume``).

    Raises:
        FileExistsError: ``run_dir`` holds a checkpoint and ``resume`` is False.
    """
    run_dir = Path(run_dir)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if last_path.exists() and not resume:
        raise FileExistsError(f"{run_dir} already holds a training run: pass --resume to continue it, "
                              "or choose another --run-dir (nothing was overwritten)")
    device = pick_device(device) if not isinstance(device, torch.device) else device
    record = record if record is not None else asdict(cfg)
    torch.manual_seed(cfg.seed)
    train_loader, val_loader = make_train_loaders(images, mask, batch_size=cfg.batch_size,
                                                  val_fraction=cfg.val_fraction,
                                                  shift_prob=cfg.shift_prob, seed=cfg.seed)
    pairs = train_loader.dataset
    model = InpaintNet(chans=cfg.chans, num_pool_layers=cfg.num_pool_layers,
                       test_time_shifts=cfg.test_time_shifts).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg.warmup_steps, cfg.epochs * len(train_loader)))
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    start_epoch, best_val, history = 0, -math.inf, []

    if resume and last_path.exists():
        state = load_checkpoint(last_path, map_location=device)
        if _architecture(state["model_args"]) != _architecture(model.model_args):
            raise ValueError(f"{run_dir} holds a network trained with {state['model_args']}, not "
                             f"{model.model_args}: pass another --run-dir for this configuration, or delete "
                             f"{run_dir} to retrain there (nothing was changed)")
        model.load_state_dict(state["model"])
        r = state["resume"]
        opt.load_state_dict(r["optimizer"])
        sched.load_state_dict(r["scheduler"])
        start_epoch, best_val, history = r["epoch"] + 1, r["best_val"], state["history"]
        # map_location moved every tensor to `device`; generator states must be CPU ByteTensors
        torch.set_rng_state(r["rng"]["torch"].cpu())
        train_loader.generator.set_state(r["rng"]["loader"].cpu())
        pairs.set_state(json.loads(r["rng"]["corruption"]))
        log.info("resumed %s: %d of %d epochs done, next is epoch %d", last_path, start_epoch, cfg.epochs,
                 start_epoch + 1)
    elif resume:
        log.info("no checkpoint in %s: starting a new run", run_dir)

    state = None
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        t0, seen, loss_sum = time.time(), 0, 0.0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for batch in bar:
            loss = train_step(model, batch, opt, sched, scaler, amp=use_amp, extra_loss=extra_loss)
            seen += len(batch[0])
            loss_sum += loss * len(batch[0])
            bar.set_postfix(loss=f"{loss:.4f}")
        seconds = time.time() - t0
        plain = with_shifts(model, 1)  # the weights' own fill: shift averaging is judged at fill time
        metrics = validate(plain, val_loader)
        row = {"epoch": epoch + 1, "train_l1_gaps": loss_sum / max(seen, 1), "lr": sched.get_last_lr()[0],
               "images_per_s": seen / seconds, "seconds": seconds, **{f"val_{k}": v for k, v in metrics.items()}}
        if on_epoch is not None:
            row.update(on_epoch(plain, row))
        history.append(row)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch"))
        improved = metrics["psnr_gaps"] > best_val
        best_val = max(best_val, metrics["psnr_gaps"])
        resume_state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": epoch,
                        "best_val": best_val,
                        "rng": {"torch": torch.get_rng_state(), "loader": train_loader.generator.get_state(),
                                "corruption": json.dumps(pairs.get_state())}}
        state = make_state(model, config=record, history=history, resume=resume_state)
        save_checkpoint(last_path, state)
        if improved:
            save_checkpoint(best_path, state)
        write_history(history, run_dir)
    if state is None:  # nothing left to do: the run had already finished
        state = load_checkpoint(last_path, map_location=device)
    return state


def write_history(history: list[dict], run_dir: Path) -> None:
    """Write the per-epoch log as ``history.json`` and ``history.csv``."""
    atomic_write(run_dir / "history.json", lambda tmp: tmp.write_text(json.dumps(history, indent=1)))

    def _csv(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)
    atomic_write(run_dir / "history.csv", _csv)
