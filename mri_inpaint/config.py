"""Every setting of the job in one place: data, training, adaptation, named presets, paths.

The command-line flags are generated from these dataclasses (name, default, and help
text from the comment after each field), and the notebook builds the same objects, so
a setting is written exactly once.
"""
from __future__ import annotations

import inspect
import io
import os
import tokenize
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path

#: The package folder and the checkout it lives in (when installed editable or run from a clone).
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
IMAGE_SIZE = 64  # height and width of every image (pixels)


@dataclass
class DataConfig:
    """Where the training images come from and how many."""

    source: str = "auto"  # "course" (ese_invldm) when installed, else "anatomy" (embedded heads); or either by name
    num_images: int = 20000  # clean training images in the cache (incl. validation)
    heads: str = "all"  # embedded source: comma-separated heads to draw from (colin27,robex,itk,brainbrowser,mni152,pydeface) or "all"
    image_seed: int = 1234  # seed of the training-image cache
    eval_images: int = 400  # held-out clean images for the quality table (same source, another seed)
    eval_seed: int = 20261128  # seed of the held-out images: never used for training
    course_steps: int = 50  # course generator: denoising steps per image (10-50 recommended)
    course_scheduler: str = "ddim"  # course generator: "ddim" or "ddpm"
    course_temperature: float = 1.0  # course generator: sampling temperature (0, 1]
    course_batch_size: int = 64  # course generator: images per generate() batch

    def course_kwargs(self) -> dict:
        """Keyword arguments of :class:`~mri_inpaint.sources.CourseSource`."""
        return {"num_inference_steps": self.course_steps, "scheduler": self.course_scheduler,
                "temperature": self.course_temperature, "batch_size": self.course_batch_size}


@dataclass
class TrainConfig:
    """Network size and optimisation; checkpoints store it."""

    seed: int = 0  # seed of initialisation, shuffling and corruption
    epochs: int = 3  # passes over the training images
    batch_size: int = 32  # images per optimisation step
    lr: float = 2e-3  # peak AdamW learning rate
    weight_decay: float = 1e-4  # AdamW weight decay
    warmup_steps: int = 200  # linear warm-up steps before cosine decay to 0
    val_fraction: float = 0.05  # share of the training images held out for validation
    shift_prob: float = 0.3  # chance that a training mask is randomly translated
    loss: str = "l1"  # loss on the missing pixels: "l1" or "mse"
    chans: int = 32  # U-Net channels at full resolution
    num_pool_layers: int = 2  # U-Net down-sampling steps (a smaller receptive field generalises better)
    test_time_shifts: int = 4  # fills averaged over this many shifts of the pooling grid (1: off)
    amp: bool = True  # mixed precision on CUDA (ignored on CPU)


#: Real-image losses of the adaptation (see :func:`mri_inpaint.adapt.self_train`).
ADAPT_METHODS = ("pseudo", "split", "warp")


@dataclass
class AdaptConfig:
    """Self-training on the real test images' observed pixels (targets are always real pixels)."""

    method: str = "pseudo"  # real-image loss: "pseudo" (re-mask pseudo-fills), "split" (hide observed pixels) or "warp" (pseudo, half the pairs warped)
    steps: int = 600  # optimisation steps (0: no adaptation)
    batch_size: int = 16  # real images per step (and as many synthetic anchor pairs)
    lr: float = 2e-4  # AdamW learning rate (constant)
    synthetic_weight: float = 0.5  # weight of the synthetic-pair loss that anchors the real task
    refresh_every: int = 100  # steps between re-computing the pseudo-filled images
    num_anchors: int = 4000  # synthetic anchor images: the first ones of the training cache
    split_fraction: float = 0.3  # "split": share of the observed pixels hidden as targets
    ei_weight: float = 0.0  # weight of the equivariant-imaging loss (0: off)
    seed: int = 0  # seed of batch sampling and mask shifts
    folds: int = 2  # cross-fitted check: adapt on all folds of the test images but one, check on that one (0: skip)
    ensemble: bool = True  # final fill: average the network adapted on all images with the folds' networks


@dataclass
class Config:
    """The whole job's settings."""

    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    device: str = "auto"  # "auto" (CUDA if present), "cpu" or "cuda"


def _smoke() -> Config:
    return Config(data=DataConfig(num_images=160, eval_images=24),
                  train=TrainConfig(epochs=1, batch_size=16, chans=8, warmup_steps=2),
                  adapt=AdaptConfig(steps=4, batch_size=4, refresh_every=2, num_anchors=32))


#: Named presets: ``full`` is the final configuration, ``smoke`` a seconds-long run of every
#: step (tests, CI and the notebook's quick mode).
PRESETS = {"full": Config, "smoke": _smoke}


def preset_run_name(name: str) -> str:
    """The ``runs/`` sub-folder of a preset's runs: ``main`` for ``full``, ``preset-<name>`` otherwise.

    One folder per preset, so a smoke network never meets (or blocks) a full run.
    """
    return "main" if name == "full" else f"preset-{name}"


def preset(name: str = "full") -> Config:
    """A fresh :class:`Config` for the preset ``name``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()


@lru_cache(maxsize=None)
def field_help(cls: type) -> dict[str, str]:
    """``{field name: the comment after it}`` read from ``cls``'s source (the flags' help text)."""
    helps: dict[str, str] = {}
    names = {f.name for f in fields(cls)}
    lines = inspect.getsource(cls)
    last_name = None
    for tok in tokenize.generate_tokens(io.StringIO(lines).readline):
        if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names:
            last_name = tok.string
        elif tok.type == tokenize.COMMENT and last_name is not None:
            helps.setdefault(last_name, tok.string.lstrip("# ").strip())
        elif tok.type == tokenize.NEWLINE:
            last_name = None
    return helps


def with_overrides(cfg: Config, **sections: dict) -> Config:
    """A copy of ``cfg`` with ``section={field: value}`` overrides (unknown names raise)."""
    out = replace(cfg)
    for section, values in sections.items():
        if section == "device":
            out = replace(out, device=values)
            continue
        part = getattr(out, section)
        known = {f.name for f in fields(part)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown {section} setting(s) {sorted(unknown)}: known are {sorted(known)}")
        out = replace(out, **{section: replace(part, **values)})
    return out


# ---------------------------------------------------------------- paths
def project_root() -> Path:
    """The checkout when the package runs from one, else the working folder."""
    return REPO_DIR if (REPO_DIR / "pyproject.toml").exists() else Path.cwd()


#: The committed final weights used by ``fill``/``check``/``evaluate`` when none are given.
DEFAULT_WEIGHTS = REPO_DIR / "weights" / "inpaint_unet.pt"


@dataclass(frozen=True)
class Paths:
    """Every file and folder the job reads or writes, resolved once.

    Args:
        root: the project folder (default :func:`project_root`).
        run_name: sub-folder of ``runs/`` for this run's checkpoints and logs.
    """

    root: Path
    data_dir: Path  # image caches (git-ignored)
    run_dir: Path  # checkpoints, logs, metrics of this run (git-ignored)
    output: Path  # the filled test set
    figures: Path  # saved figures
    weights: Path  # committed final weights

    @classmethod
    def default(cls, root: Path | str | None = None, *, run_name: str = "main") -> "Paths":
        root = Path(root) if root is not None else project_root()
        data_env = os.environ.get("MRI_DATA_DIR")  # e.g. a Drive folder on Colab, so caches survive
        return cls(root=root, data_dir=Path(data_env) if data_env else root / "data",
                   run_dir=root / "runs" / run_name, output=root / "test_set_nogaps.npy",
                   figures=root / "figures", weights=DEFAULT_WEIGHTS)

    def replace(self, **changes) -> "Paths":
        return replace(self, **changes)

    @property
    def course_dir(self) -> Path:
        """Where ``course-setup`` unpacks the course bundle."""
        return self.data_dir / "course"
