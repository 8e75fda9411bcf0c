"""Training images from the coursework's pre-trained diffusion model (``ese_invldm``).

The model ships in the course bundle ``cw1_files.zip``, which is not part of this
repository; install it with ``python -m mri_inpaint course-setup --bundle PATH_OR_URL``
(see :mod:`mri_inpaint.course_setup`) or, on Colab, with the notebook's set-up cell.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings

import numpy as np
import torch

from .base import IMAGE_SIZE, minmax_normalise

SCHEDULERS = ("ddim", "ddpm")
#: ``generate`` seeds NumPy, which takes seeds in [0, 2**32) only.
SEED_LIMIT = 2 ** 32

NOT_INSTALLED = (
    "the course generator `ese_invldm` is not importable: the course bundle "
    "(cw1_files.zip) is not installed. Install it with "
    "`python -m mri_inpaint course-setup --bundle PATH_OR_URL` or, on Colab, run the "
    "notebook's set-up cell. `--source anatomy` works without it."
)


def course_generator_available() -> bool:
    """Return True when the ``ese_invldm`` package can be imported (never raises)."""
    try:
        return importlib.util.find_spec("ese_invldm") is not None
    except (ImportError, ValueError):
        return False


class CourseSource:
    """Images sampled from the course's latent diffusion model.

    Args:
        num_inference_steps: denoising steps per sample, >= 1.
        scheduler: ``"ddim"`` or ``"ddpm"``.
        temperature: sampling temperature, > 0.
        batch_size: images generated per batch, >= 1.

    Raises:
        ValueError: for an argument out of range.
    """

    name = "course"

    def __init__(self, *, num_inference_steps: int = 50, scheduler: str = "ddim",
                 temperature: float = 1.0, batch_size: int = 64) -> None:
        if scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler={scheduler!r}: expected one of {SCHEDULERS}")
        if int(num_inference_steps) != num_inference_steps or num_inference_steps < 1:
            raise ValueError(f"num_inference_steps={num_inference_steps!r}: expected an integer >= 1")
        if not temperature > 0:
            raise ValueError(f"temperature={temperature!r}: expected a number > 0")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}: expected an integer >= 1")
        self.num_inference_steps = int(num_inference_steps)
        self.scheduler = scheduler
        self.temperature = float(temperature)
        self.batch_size = int(batch_size)

    def params(self) -> dict:
        """Return the settings that, with the seed, determine the samples."""
        return {"num_inference_steps": self.num_inference_steps, "scheduler": self.scheduler,
                "temperature": self.temperature, "batch_size": self.batch_size}

    def sample(self, n: int, seed: int) -> np.ndarray:
        """Generate ``n`` images with the course model.

        Args:
            n: number of images, >= 1.
            seed: any non-negative integer; ``generate`` gets :func:`generator_seed` of it.

        Returns:
            float32 ``(n, 1, 64, 64)``, each image min-max normalised to [0, 1].

        Raises:
            ValueError: if ``n < 1``.
            ImportError: if the course bundle is not installed or its requirements are missing.
            RuntimeError: if the generator returns the wrong shape or non-finite values.
        """
        if n < 1:
            raise ValueError(f"n={n!r}: expected an integer >= 1")
        try:
            from ese_invldm import generate
        except ImportError as exc:
            if course_generator_available():  # found, but its own imports failed
                raise ImportError(
                    f"ese_invldm is installed but failed to import ({exc}); install its Python "
                    "requirements per the course instructions (the bundle's run.sh)") from exc
            raise ImportError(NOT_INSTALLED) from exc
        with quiet():
            samples = generate(num_samples=n, num_inference_steps=self.num_inference_steps,
                               batch_size=self.batch_size, scheduler=self.scheduler,
                               temperature=self.temperature, seed=generator_seed(seed))
        images = as_image_batch(samples)
        if len(images) != n:
            raise RuntimeError(f"ese_invldm.generate returned {len(images)} images; expected {n}")
        return images


def generator_seed(seed: int) -> int:
    """``seed`` folded into [0, 2**32), the range ``generate`` (through NumPy) accepts."""
    return int(seed) % SEED_LIMIT


@contextlib.contextmanager
def quiet():
    """Capture what ``generate`` prints: its "Batch i" lines, progress bars and warnings.

    A notebook cell would otherwise receive one bar per batch (hundreds of lines). Errors
    still propagate; what was printed is attached to them as a note.
    """
    out, err = io.StringIO(), io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            warnings.simplefilter("ignore")
            yield
    except Exception as exc:
        tail = (out.getvalue() + err.getvalue()).strip().splitlines()[-5:]
        if tail:
            exc.add_note("ese_invldm.generate printed, last lines:\n" + "\n".join(tail))
        raise


def as_image_batch(samples) -> np.ndarray:
    """What ``ese_invldm.generate`` returns, as images normalised like the test images.

    Args:
        samples: a list of batches or a single array/tensor, shaped ``(N, 1, 64, 64)`` or
            ``(N, 64, 64)``, any value range.

    Returns:
        float32 ``(N, 1, 64, 64)``, each image min-max normalised to [0, 1].

    Raises:
        RuntimeError: another shape, no images, or non-finite values (says what came back).
    """
    batches = list(samples) if isinstance(samples, (list, tuple)) else [samples]
    if not batches:
        raise RuntimeError("ese_invldm.generate returned no images (an empty list)")
    arrays = []
    for b in batches:
        a = torch.as_tensor(b).detach().cpu().float().numpy() if not isinstance(b, np.ndarray) else b
        a = np.asarray(a, dtype=np.float32)
        if a.ndim == 3:
            a = a[:, None]
        if a.ndim != 4 or a.shape[1:] != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise RuntimeError(f"ese_invldm.generate returned a batch of shape {tuple(np.shape(b))}; expected "
                               f"(N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}) or (N, {IMAGE_SIZE}, {IMAGE_SIZE})")
        arrays.append(a)
    images = np.concatenate(arrays)
    if len(images) == 0:
        raise RuntimeError("ese_invldm.generate returned no images")
    if not np.isfinite(images).all():
        raise RuntimeError("ese_invldm.generate returned non-finite values (NaN or inf): try other settings")
    return minmax_normalise(images)
