"""A faithful stand-in for Colab and the course bundle, after ../shared/course-generator.md.

- :func:`make_bundle` writes ``cw1_files.zip`` in the course's flat layout or re-packed on a Mac
  (``cw1_files/`` plus ``__MACOSX/``). Its ``run.sh`` clones InverseLDM into ``./InverseLDM``
  relative to the working folder (from a local git repository: :func:`make_inverseldm_repo`),
  or says "Directory InverseLDM already exists. Skipping clone.".
- Its ``ese_invldm.generate(num_samples, num_inference_steps, batch_size, scheduler, temperature,
  seed=42)`` imports InverseLDM from beside the unpacked bundle (so a bundle unpacked in the
  wrong folder fails to import), seeds NumPy (a seed of 2**32 or more raises), prints
  "Batch i" and a tqdm bar per batch, warns FutureWarnings, costs time in proportion to the
  steps, logs each call as a JSON line to ``$FAKE_GENERATE_LOG``, and returns a list of per-batch
  float16 tensors, un-normalised, the last one partial, that behave like CUDA tensors:
  ``.numpy()`` raises and mixing with CPU tensors raises until ``.cpu()``.
- :func:`colab_startup` is an IPython start-up file that registers a fake ``google.colab``
  whose ``drive.mount`` links ``/content/drive`` to a folder that outlives the runtime.
"""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

RUN_SH = """#!/bin/bash
# Emulates the course's run.sh: clone InverseLDM into the working folder, install its requirements.
if [ -d "InverseLDM" ]; then
    echo "Directory InverseLDM already exists. Skipping clone."
else
    git clone -q "$FAKE_INVERSELDM_REPO" InverseLDM || exit 1
fi
echo "Installing requirements (emulated: nothing to download)"
"""

PACKAGE_INIT = "from .ese_invldm import *\n"

GENERATOR = r'''
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
from tqdm import tqdm

# The bundle's code expects InverseLDM beside the folder the bundle was unpacked into.
_UNPACKED = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(_UNPACKED, "InverseLDM"))
import invldm  # noqa: E402,F401  (fails when run.sh cloned InverseLDM elsewhere)

SECONDS_PER_IMAGE_STEP = float(os.environ.get("FAKE_GENERATE_COST", "0.002"))
_CUDA = torch.device("cuda", 0)


class CudaTensor(torch.Tensor):
    """A tensor that behaves as if it lived on cuda:0."""

    @property
    def device(self):
        return _CUDA

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                        "to host memory first.")

    def __array__(self, *args, **kwargs):
        return self.numpy()

    def cpu(self, *args, **kwargs):
        with torch._C.DisableTorchFunction():
            return torch.Tensor.clone(self).as_subclass(torch.Tensor)

    def tolist(self):
        raise TypeError("emulated CUDA tensor: call .cpu() first")

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        flat = [a for a in list(args) + list(kwargs.values()) for a in (a if isinstance(a, (list, tuple)) else [a])]
        tensors = [a for a in flat if isinstance(a, torch.Tensor)]
        if any(isinstance(t, cls) for t in tensors) and any(type(t) is torch.Tensor and t.dim() > 0 for t in tensors):
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                               "cuda:0 and cpu!")
        return super().__torch_function__(func, types, args, kwargs)


def _heads(rng, n, steps, temperature):
    """Head-like ellipses whose look depends on the settings (so the sweep has something to rank)."""
    r, c = np.mgrid[0:64, 0:64].astype(np.float64)
    out = np.empty((n, 1, 64, 64))
    for i in range(n):
        cy = 34 + rng.normal(0, 1.5 * temperature)
        cx = 33 + rng.normal(0, 1.5 * temperature)
        ry, rx = 24 + rng.normal(0, 1) + 10 / steps, 28 + rng.normal(0, 1)
        d = ((r - cy) / ry) ** 2 + ((c - cx) / rx) ** 2
        head = 0.55 * (d < 1) + 0.2 * (d < 0.6) * np.cos(c / 3 + rng.uniform(0, 6)) ** 2
        out[i, 0] = 0.004 + 0.74 * np.clip(head + rng.normal(0, 0.02 * temperature, (64, 64)), 0, 1)
    return out


def generate(num_samples, num_inference_steps, batch_size, scheduler="ddpm", temperature=1.0, seed=42):
    np.random.seed(seed)  # as InverseLDM's set-up does: a seed outside [0, 2**32) raises ValueError
    rng = np.random.default_rng(seed)
    warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                  "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning)
    log = os.environ.get("FAKE_GENERATE_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps({"num_samples": num_samples, "num_inference_steps": num_inference_steps,
                                 "batch_size": batch_size, "scheduler": scheduler, "temperature": temperature,
                                 "seed": seed, "cwd": os.getcwd()}) + "\n")
    batches = []
    for b, start in enumerate(range(0, num_samples, batch_size)):
        n = min(batch_size, num_samples - start)
        print(f"Batch {b}")
        for _ in tqdm(range(num_inference_steps)):
            time.sleep(SECONDS_PER_IMAGE_STEP * n)
        images = torch.from_numpy(_heads(rng, n, num_inference_steps, temperature)).to(torch.float16)
        batches.append(images.as_subclass(CudaTensor))
    return batches
'''


def make_inverseldm_repo(folder: Path) -> Path:
    """A local git repository standing in for InverseLDM (``invldm/__init__.py``)."""
    (folder / "invldm").mkdir(parents=True)
    (folder / "invldm" / "__init__.py").write_text("# stand-in for InverseLDM's package\n")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "-C", str(folder), "add", "."], check=True)
    subprocess.run([*git, "-C", str(folder), "commit", "-q", "-m", "stand-in"], check=True)
    return folder


def make_bundle(path: Path, layout: str = "flat") -> Path:
    """Write ``cw1_files.zip`` at ``path``: ``layout`` "flat" (the course's) or "repacked" (a Mac's)."""
    files = {"run.sh": RUN_SH, "ese-invldm/setup.py": "from setuptools import setup\nsetup(name='ese_invldm')\n",
             "ese-invldm/ese_invldm/__init__.py": PACKAGE_INIT, "ese-invldm/ese_invldm/ese_invldm.py": GENERATOR,
             "files/default_config.yml": "model: stand-in\n", "files/config_training.yml": "training: stand-in\n",
             "files/autoencoder/autoencoder_ckpt_latest.pth": "weights", "files/diffusion/diffusion_ckpt_latest.pth":
             "weights"}
    prefix = {"flat": "", "repacked": "cw1_files/"}[layout]
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(prefix + name, text)
            if layout == "repacked":
                folder, _, base = name.rpartition("/")
                zf.writestr(f"__MACOSX/cw1_files/{folder + '/' if folder else ''}._{base}", "mac metadata")
    return path


def colab_startup(drive_store: Path) -> str:
    """An IPython start-up file: a fake ``google.colab`` whose Drive lives in ``drive_store``."""
    return f'''
import os, sys, types
from pathlib import Path

def _mount(mountpoint, force_remount=False):
    store = Path({str(drive_store)!r})
    (store / "MyDrive").mkdir(parents=True, exist_ok=True)
    point = Path(mountpoint)
    if not point.is_symlink():
        point.symlink_to(store, target_is_directory=True)
    print("Mounted at " + str(point))

try:
    import google
except ImportError:
    google = types.ModuleType("google")
    google.__path__ = []
    sys.modules["google"] = google
colab = types.ModuleType("google.colab")
drive = types.ModuleType("google.colab.drive")
drive.mount = _mount
colab.drive = drive
google.colab = colab
sys.modules["google.colab"] = colab
sys.modules["google.colab.drive"] = drive
'''
