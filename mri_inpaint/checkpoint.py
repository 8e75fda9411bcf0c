"""The one checkpoint format, read and written here only.

A checkpoint is a dict ``{"model", "model_args", "config", "history", "metrics"}``:
the weights, the :class:`~mri_inpaint.model.InpaintNet` constructor arguments, the
settings it was made with (``asdict`` of :class:`~mri_inpaint.config.Config`), the
per-epoch training log, and any scores. Training checkpoints (``last.pt``, ``best.pt``)
add ``"resume"``: optimiser, scheduler, epoch, best validation score and every RNG
state. Weights files are checkpoints without ``"resume"`` (a few MB).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .model import InpaintNet
from .utils import atomic_write


#: The keys every checkpoint holds (training checkpoints add ``"resume"``).
CHECKPOINT_KEYS = ("model", "model_args", "config", "history", "metrics")


def make_state(model: InpaintNet, *, config: dict, history: list | None = None, metrics: dict | None = None,
               resume: dict | None = None) -> dict:
    """Assemble a checkpoint of ``model`` (see the module docstring for the keys)."""
    state = {"model": model.state_dict(), "model_args": dict(model.model_args), "config": config,
             "history": list(history or []), "metrics": dict(metrics or {})}
    if resume is not None:
        state["resume"] = resume
    return state


def save_checkpoint(path: Path | str, state: dict) -> Path:
    """Write a checkpoint atomically (temporary file, then rename)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def write_weights(path: Path | str, model: InpaintNet, *, config: dict, history: list | None = None,
                  metrics: dict | None = None) -> Path:
    """Save what inference needs (no resume state): the weights file of a finished model."""
    return save_checkpoint(path, make_state(model, config=config, history=history, metrics=metrics))


def load_checkpoint(path: Path | str, map_location="cpu") -> dict:
    """Load a checkpoint safely (``weights_only=True``), with clear errors for bad files."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file {path} not found: train first (python -m mri_inpaint train) "
                                "or pass --weights PATH")
    if path.is_dir():
        raise ValueError(f"weights path {path} is a directory, expected a .pt file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"cannot read weights file {path}: permission denied; fix its permissions")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupted, truncated, or not a torch file
        # torch's own message spans lines and suggests weights_only=False (unsafe): say it in one line
        raise ValueError(f"could not read weights file {path} ({type(exc).__name__}): it is corrupted, truncated "
                         "or not a checkpoint of this project; restore it, retrain, or use another file") from exc
    if not isinstance(state, dict) or any(key not in state for key in CHECKPOINT_KEYS):
        raise ValueError(f"{path} is not a checkpoint of this project (expected keys {', '.join(CHECKPOINT_KEYS)})")
    return state


def build_model(state: dict, device: torch.device | str = "cpu") -> InpaintNet:
    """Rebuild the network (eval mode) from a checkpoint's ``model_args`` and weights."""
    try:
        model = InpaintNet(**state["model_args"])
        model.load_state_dict(state["model"])
    except (TypeError, RuntimeError) as exc:
        raise ValueError(f"weights do not fit this project's architecture ({exc}); "
                         "use weights saved by this version of mri_inpaint") from exc
    return model.to(device).eval()


def load_model(path: Path | str, device: torch.device | str = "cpu") -> InpaintNet:
    """Load a trained :class:`InpaintNet` from a checkpoint or weights file."""
    return build_model(load_checkpoint(path, map_location=device), device)


#: Settings a training run does not depend on: they may change between a run and its resumption.
NOT_TRAINING = {"data": ("eval_images", "eval_seed", "held_out_images"), "train": ("test_time_shifts",)}


def require_resumable(run_dir: Path | str, config: dict) -> None:
    """Refuse to resume the run in ``run_dir`` with settings other than its own.

    Compares the ``data`` and ``train`` settings stored in ``last.pt`` with ``config``
    (``asdict`` of the :class:`~mri_inpaint.config.Config` asked for); settings one side
    does not know are skipped, as are those training does not read (:data:`NOT_TRAINING`).
    A ``"training_images"`` digest on both sides must match too: a changed image source
    draws other images under the same settings.

    Raises:
        ValueError: naming each setting that differs, its flag and both values.
    """
    last = Path(run_dir) / "last.pt"
    if not last.exists():
        return
    saved = load_checkpoint(last)["config"]
    changed = []
    for section in ("data", "train"):
        have, want = saved.get(section, {}), config.get(section, {})
        for name in sorted(set(have) & set(want)):
            if name not in NOT_TRAINING.get(section, ()) and have[name] != want[name]:
                changed.append(f"--{name.replace('_', '-')} {want[name]!r} (the run used {have[name]!r})")
    have_images, want_images = saved.get("training_images"), config.get("training_images")
    if have_images and want_images and have_images != want_images:
        changed.append("the training images (the same settings now draw other images: the image source changed)")
    if changed:
        raise ValueError(f"{run_dir} holds a run made with other settings: {'; '.join(changed)}. Nothing was changed: "
                         "give the run's settings to continue it, or choose another --run-dir (or delete "
                         f"{run_dir}) to start afresh")
