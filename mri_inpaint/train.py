"""Training: one configuration object, a resumable loop, complete checkpoints."""
from __future__ import annotations

import csv
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .dataset import make_train_loaders
from .model import InpaintNet
from .utils import atomic_write, pick_device

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every training default in one place; the CLI and the notebook build this same object."""

    source: str = "auto"  # "course" (ese_invldm) when installed, else "anatomy" (embedded); or either by name
    num_images: int = 24000  # clean training images in the cache (incl. validation)
    val_fraction: float = 0.05  # share of images held out for validation
    image_seed: int = 1234  # seed of the image cache
    seed: int = 0  # seed of initialisation, shuffling and corruption
    epochs: int = 4  # passes over the training images (the real-image check falls with longer training)
    batch_size: int = 32  # images per optimisation step
    lr: float = 2e-3  # peak AdamW learning rate
    weight_decay: float = 1e-4  # AdamW weight decay
    warmup_steps: int = 200  # linear warm-up before cosine decay to 0
    shift_prob: float = 0.3  # chance that a training mask is randomly translated
    chans: int = 32  # U-Net channels at full resolution
    num_pool_layers: int = 2  # U-Net down-sampling steps (a smaller receptive field generalises better)
    amp: bool = True  # mixed precision on CUDA (ignored on CPU)
    device: str = "auto"  # "auto" (CUDA if present), "cpu" or "cuda"

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# ---------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, state: dict) -> None:
    """Write a checkpoint atomically (temp file, then rename)."""
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path | str, map_location="cpu") -> dict:
    """Load a checkpoint safely (``weights_only=True``), with clear errors for bad files."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file {path} not found: train first (python -m mri_inpaint train) "
                                "or pass --weights PATH")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupted, truncated, or not a torch file
        raise ValueError(f"could not read weights file {path} ({type(exc).__name__}: {exc}); "
                         "it is corrupted or not a checkpoint of this project - retrain or restore it") from exc
    if not isinstance(state, dict) or "model" not in state or "model_args" not in state:
        raise ValueError(f"{path} is not a checkpoint of this project (expected keys 'model' and 'model_args')")
    return state


def build_model(state: dict, device: torch.device | str = "cpu") -> InpaintNet:
    """Rebuild an :class:`InpaintNet` from a checkpoint's ``model_args`` and weights."""
    try:
        model = InpaintNet(**state["model_args"])
        model.load_state_dict(state["model"])
    except (TypeError, RuntimeError) as exc:
        raise ValueError(f"weights do not fit this project's architecture ({exc}); "
                         "use weights saved by this version of mri_inpaint") from exc
    return model.to(device).eval()


def load_model(path: Path | str, device: torch.device | str = "cpu") -> InpaintNet:
    """Load a trained :class:`InpaintNet` from a checkpoint or exported weights file."""
    return build_model(load_checkpoint(path, map_location=device), device)


def export_weights(state: dict, path: Path, metrics: dict | None = None) -> None:
    """Save only what inference needs (weights, architecture, config, metrics): a few MB."""
    small = {"model": state["model"], "model_args": state["model_args"], "config": state["config"],
             "metrics": metrics or {}}
    save_checkpoint(path, small)


# ---------------------------------------------------------------- loop
def _lr_lambda(warmup: int, total: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return f


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over missing pixels (mask 1)."""
    return ((pred - target).abs() * mask).sum() / mask.sum().clamp_min(1)


@torch.no_grad()
def validate(model: InpaintNet, loader) -> dict:
    """Gap and whole-image metrics of ``model`` on a validation loader."""
    from .evaluate import evaluate_fill

    model.eval()
    device = next(model.parameters()).device
    preds, targets, masks = [], [], []
    for corrupted, mask, clean in loader:
        preds.append(model(corrupted.to(device), mask.to(device)).cpu())
        targets.append(clean)
        masks.append(mask)
    pred, target = torch.cat(preds).numpy(), torch.cat(targets).numpy()
    mask = torch.cat(masks).numpy().astype(bool)
    return evaluate_fill(pred, target, mask)


def train(cfg: TrainConfig, images: np.ndarray, mask: np.ndarray, run_dir: Path | str, *,
          resume: bool = False, progress: bool = True) -> dict:
    """Train an :class:`InpaintNet` and keep ``last.pt``/``best.pt`` under ``run_dir``.

    Args:
        cfg: training configuration.
        images: clean float32 ``(N, 1, 64, 64)`` in [0, 1] (split into train/validation here).
        mask: bool ``(64, 64)``, True where missing.
        run_dir: folder for checkpoints and logs.
        resume: continue from ``run_dir/last.pt``; the run then ends exactly where an
            uninterrupted run would.

    Returns:
        the final checkpoint state (``model``, ``history``, ``best_val``, ...).

    Raises:
        FileExistsError: ``run_dir`` holds a checkpoint and ``resume`` is False.
    """
    run_dir = Path(run_dir)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if last_path.exists() and not resume:
        raise FileExistsError(f"{run_dir} already holds a training run: pass --resume to continue it, "
                              "or choose another --run-dir (nothing was overwritten)")
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    train_loader, val_loader = make_train_loaders(images, mask, batch_size=cfg.batch_size,
                                                  val_fraction=cfg.val_fraction,
                                                  shift_prob=cfg.shift_prob, seed=cfg.seed)
    model = InpaintNet(chans=cfg.chans, num_pool_layers=cfg.num_pool_layers).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * len(train_loader)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg.warmup_steps, total))
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    start_epoch, best_val, history = 0, -math.inf, []

    if resume and last_path.exists():
        state = load_checkpoint(last_path, map_location=device)
        if state["model_args"] != model.model_args:
            raise ValueError(f"{last_path} was trained with {state['model_args']}, not {model.model_args}")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, best_val, history = state["epoch"] + 1, state["best_val"], state["history"]
        # map_location moved every tensor to `device`; generator states must be CPU ByteTensors
        torch.set_rng_state(state["rng"]["torch"].cpu())
        train_loader.generator.set_state(state["rng"]["loader"].cpu())
        train_loader.dataset.rng.bit_generator.state = json.loads(state["rng"]["corruption"])
        log.info("resumed %s at epoch %d", last_path, start_epoch)
    elif resume:
        log.info("no checkpoint in %s: starting a new run", run_dir)

    state = None
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        t0, seen, loss_sum = time.time(), 0, 0.0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for corrupted, m, clean in bar:
            corrupted, m, clean = corrupted.to(device), m.to(device), clean.to(device)
            with torch.autocast(device.type, enabled=use_amp):
                pred = model(corrupted, m)
            loss = masked_l1(pred.float(), clean, m)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            seen += len(clean)
            loss_sum += loss.item() * len(clean)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        seconds = time.time() - t0
        metrics = validate(model, val_loader)
        row = {"epoch": epoch + 1, "train_l1_gaps": loss_sum / max(seen, 1), "lr": sched.get_last_lr()[0],
               "images_per_s": seen / seconds, "seconds": seconds, **{f"val_{k}": v for k, v in metrics.items()}}
        history.append(row)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch"))
        improved = metrics["psnr_gaps"] > best_val
        best_val = max(best_val, metrics["psnr_gaps"])
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "epoch": epoch, "best_val": best_val, "history": history, "config": asdict(cfg),
                 "model_args": model.model_args,
                 "rng": {"torch": torch.get_rng_state(), "loader": train_loader.generator.get_state(),
                         "corruption": json.dumps(train_loader.dataset.rng.bit_generator.state)}}
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
