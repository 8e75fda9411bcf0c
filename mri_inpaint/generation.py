"""The course generator's work planned within a time budget, and the training size reached by augmentation.

On a free Colab T4 the course's ``generate`` costs about 0.27 s an image at 25 denoising
steps and 0.54 s at 50, so the tens of thousands of training images a network wants would
take hours. The notebook therefore measures each generator setting on a few images (seconds
per image and fidelity to the test images), generates as many images as the budget allows
with the setting chosen, and fills the rest of the training set with augmented copies of
them (small warps and intensity curves), which cost nothing.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .sources.base import minmax_normalise
from .utils import atomic_write
from .warps import random_warp_grids, uniform_draws

#: Fewest generated images a plan accepts: below this the copies would repeat too few people.
MIN_GENERATED = 2000
#: A setting within this fraction of the best nearest-neighbour distance counts as equally close.
FIDELITY_TOLERANCE = 0.02


@dataclass(frozen=True)
class GenerationPlan:
    """What will be generated: the setting, its measured cost, and how many images."""

    setting: str  # the sweep row's name
    params: dict  # CourseSource settings: scheduler, num_inference_steps, temperature
    s_per_image: float  # measured seconds per generated image
    generated: int  # images generated
    total: int  # training images, the rest augmented copies
    budget_s: float  # the cap the plan keeps within

    @property
    def seconds(self) -> float:
        """Projected generation time."""
        return self.generated * self.s_per_image

    def describe(self) -> str:
        copies = self.total - self.generated
        return (f"plan: {self.generated:,} images with {self.setting} at {self.s_per_image:.3f} s each = "
                f"{self.seconds / 60:.1f} min of generation (cap {self.budget_s / 60:.0f} min)"
                + (f"; {copies:,} augmented copies complete the {self.total:,} training images" if copies else ""))


def plan_generation(rows: list[dict], num_images: int, budget_s: float, *,
                    min_images: int = MIN_GENERATED) -> GenerationPlan:
    """Choose a setting and an image count from measured fidelity and cost.

    Each setting can afford ``budget_s / s_per_image`` images (at most ``num_images``). Of
    the settings that afford ``min_images`` (or all of ``num_images`` when fewer are
    wanted), those with the most framing statistics within the test images' spread
    (``framing["within"]``, :func:`~mri_inpaint.fidelity.framing_comparison`) are kept, and of
    them the closest to the test images (lowest nearest-neighbour MSE) wins; a setting within
    :data:`FIDELITY_TOLERANCE` of it that affords more images is preferred.

    Args:
        rows: sweep rows with ``setting``, ``params``, ``s_per_image``, ``nn_mse`` and, optionally,
            ``framing`` (rows without it count 0 statistics within the spread).
        num_images: training images wanted.
        budget_s: seconds of generation allowed.
        min_images: fewest generated images acceptable.

    Raises:
        ValueError: no rows, rows that drew different numbers of images, or no setting affords
            ``min_images`` within the budget (names the cheapest setting's cost and the budget needed).
    """
    if not rows:
        raise ValueError("no generator settings were measured: run the sweep first")
    sizes = {len(r["images"]) for r in rows if "images" in r}
    if len(sizes) > 1:  # the nearest-neighbour distance falls as a set grows
        raise ValueError(f"the settings drew different numbers of images {sorted(sizes)}: draw the same number each")
    need = min(int(min_images), int(num_images))
    afford = {r["setting"]: min(int(num_images), int(budget_s / max(r["s_per_image"], 1e-9))) for r in rows}
    feasible = [r for r in rows if afford[r["setting"]] >= need]
    if not feasible:
        cheapest = min(rows, key=lambda r: r["s_per_image"])
        raise ValueError(f"no generator setting makes {need:,} images within {budget_s / 60:.0f} min: the "
                         f"cheapest ({cheapest['setting']}, {cheapest['s_per_image']:.3f} s an image) needs "
                         f"{need * cheapest['s_per_image'] / 60:.0f} min; raise generation_budget_s or use "
                         "fewer steps")
    most = max(r.get("framing", {}).get("within", 0) for r in feasible)
    framed = [r for r in feasible if r.get("framing", {}).get("within", 0) == most]
    best = min(r["nn_mse"] for r in framed)
    close = [r for r in framed if r["nn_mse"] <= best * (1 + FIDELITY_TOLERANCE)]
    pick = max(close, key=lambda r: (afford[r["setting"]], -r["nn_mse"]))
    return GenerationPlan(setting=pick["setting"], params=dict(pick["params"]), s_per_image=pick["s_per_image"],
                          generated=afford[pick["setting"]], total=int(num_images), budget_s=float(budget_s))


def measured_setting(setting: str, params: dict, draw: Callable[[], np.ndarray], folder: Path) -> dict:
    """Draw a setting's sample once and time it; later calls read both back from ``folder``.

    A rerun of the sweep (same runtime, or a fresh one with ``folder`` on Drive) costs nothing.

    Returns:
        ``{"setting", "params", "s_per_image", "images"}``.
    """
    path = Path(folder) / (re.sub(r"[^A-Za-z0-9]+", "-", setting).strip("-") + ".npz")
    if path.is_file():
        with np.load(path) as f:
            return {"setting": setting, "params": dict(params), "s_per_image": float(f["s_per_image"]),
                    "images": f["images"]}
    t0 = time.perf_counter()
    images = draw()
    seconds = (time.perf_counter() - t0) / max(len(images), 1)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, images=images, s_per_image=seconds)

    atomic_write(path, write)
    return {"setting": setting, "params": dict(params), "s_per_image": seconds, "images": images}


def augment_to(images: np.ndarray, n: int, seed: int, *, chunk: int = 2048) -> np.ndarray:
    """``n`` training images: ``images`` themselves first, then augmented copies of them.

    Each copy is a random image of the set under a small rotation, zoom, shift and smooth
    elastic field (skulls stay round) and a random gamma curve, min-max normalised again.
    The same ``(images, n, seed)`` always gives the same result.

    Args:
        images: float32 ``(m, 1, 64, 64)`` in [0, 1].
        n: images wanted (``n <= m`` returns the first ``n``).
        seed: seed of the copies' draws.
    """
    images = np.asarray(images, dtype=np.float32)
    if n <= len(images):
        return images[:n]
    gen = torch.Generator().manual_seed(int(seed))
    parts = [images]
    size = images.shape[-1]
    for start in range(len(images), n, chunk):
        k = min(chunk, n - start)
        pick = torch.randint(len(images), (k,), generator=gen)
        grid = random_warp_grids(k, size, gen, rotation_deg=3.0, scale=0.04, shift_px=1.5, elastic_px=1.0)
        warped = F.grid_sample(torch.from_numpy(images)[pick], grid, mode="bilinear", padding_mode="zeros",
                               align_corners=False).clamp_(0, 1)
        gamma = uniform_draws(gen, k, 0.85, 1.2).view(k, 1, 1, 1)
        parts.append(minmax_normalise(warped.pow(gamma).numpy()))
    return np.concatenate(parts)
