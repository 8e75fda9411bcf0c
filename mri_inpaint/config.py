"""Every setting of the job in one place: data, training, adaptation, named presets.

The command-line flags are generated from these dataclasses (name, default, and help
text from the comment after each field: :func:`mri_inpaint.cli.field_help`), and the
notebook builds the same objects, so a setting is written exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

IMAGE_SIZE = 64  # height and width of every image (pixels)


@dataclass
class DataConfig:
    """Where the training images come from and how many."""

    source: str = "auto"  # "course" (ese_invldm) when installed, else "anatomy" (embedded heads); or either by name
    num_images: int = 16000  # clean training images in the cache (incl. validation)
    heads: str = "all"  # embedded source: comma-separated heads to draw from (colin27,robex,itk,brainbrowser,mni152,pydeface) or "all"
    held_out_head: str = "robex"  # one person's head never drawn for training: the labelled stand-in for the test images ("" = none)
    held_out_images: int = 100  # slices of the held-out head, self-trained on and scored like the test images
    image_seed: int = 1234  # seed of the training-image cache
    eval_images: int = 400  # new slices of the training heads for the quality table (same source, another seed)
    eval_seed: int = 20261128  # seed of the new slices of the training heads: never used for training
    course_steps: int = 50  # course generator: denoising steps per image (10-50 recommended)
    course_scheduler: str = "ddim"  # course generator: "ddim" or "ddpm"
    course_temperature: float = 1.0  # course generator: sampling temperature (0, 1]
    course_batch_size: int = 64  # course generator: images per generate() batch
    generated_images: int = 0  # course generator: images generated, the rest of num_images augmented copies (0: as many as generation_budget_s allows)
    generation_budget_s: float = 2100.0  # course generator: seconds allowed for generating the training images (35 min on a free T4)
    min_generated: int = 2000  # course generator: fewest generated images a plan accepts
    sweep_images: int = 64  # course generator: images per setting in the notebook's sweep

    def course_kwargs(self) -> dict:
        """Keyword arguments of :class:`~mri_inpaint.sources.CourseSource`."""
        return {"num_inference_steps": self.course_steps, "scheduler": self.course_scheduler,
                "temperature": self.course_temperature, "batch_size": self.course_batch_size}


@dataclass
class TrainConfig:
    """Network size and optimisation; checkpoints store it."""

    seed: int = 0  # seed of initialisation, shuffling and corruption
    epochs: int = 8  # passes over the training images
    batch_size: int = 32  # images per optimisation step
    lr: float = 2e-3  # peak AdamW learning rate
    weight_decay: float = 1e-4  # AdamW weight decay
    warmup_steps: int = 200  # linear warm-up steps before cosine decay to 0
    val_fraction: float = 0.05  # share of the training images set aside as validation images
    shift_prob: float = 0.3  # chance that a training mask is randomly translated
    chans: int = 32  # U-Net channels at full resolution
    num_pool_layers: int = 2  # U-Net down-sampling steps (a smaller receptive field generalises better)
    test_time_shifts: int = 4  # fills averaged over this many shifts of the pooling grid (1: off)
    amp: bool = True  # mixed precision on CUDA (ignored on CPU)


@dataclass
class AdaptConfig:
    """Self-training on the real test images' observed pixels: re-masked pseudo-fills, targets always real pixels."""

    steps: int = 200  # optimisation steps (0: no adaptation); 600 add under 0.1 dB on a held-out head (bench/adapt_steps.py)
    batch_size: int = 16  # real images per step (and as many synthetic anchor pairs)
    lr: float = 2e-4  # AdamW learning rate (constant)
    synthetic_weight: float = 0.5  # weight of the synthetic-pair loss that anchors the real task
    refresh_every: int = 100  # steps between re-computing the pseudo-filled images
    num_anchors: int = 4000  # synthetic anchor images: the first ones of the training cache
    seed: int = 0  # seed of batch sampling and mask shifts
    folds: int = 2  # cross-fitted check: adapt on all folds of the test images but one, check on that one (0: skip)


@dataclass
class Config:
    """The whole job's settings."""

    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    device: str = "auto"  # "auto" (CUDA if present), "cpu" or "cuda"


def _smoke() -> Config:
    return Config(data=DataConfig(num_images=160, eval_images=24, held_out_images=16, generation_budget_s=3.0,
                                  min_generated=32, sweep_images=16),
                  train=TrainConfig(epochs=1, batch_size=16, chans=8, warmup_steps=2),
                  adapt=AdaptConfig(steps=4, batch_size=4, refresh_every=2, num_anchors=32))


def _gpu() -> Config:
    # On a free T4 the course generator makes about 7,800 images at 25 steps in the 35-minute
    # budget (0.27 s each, ../docs/running.md); augmented copies complete the 40,000.
    return Config(data=DataConfig(num_images=40000), train=TrainConfig(epochs=8, chans=48))


#: Named presets: ``full`` is the final configuration (the CPU budget), ``gpu`` a larger one the
#: notebook picks by itself on CUDA (2.5x the images, 1.5x the width), ``smoke`` a
#: seconds-long run of every step (tests).
PRESETS = {"full": Config, "gpu": _gpu, "smoke": _smoke}


#: Presets whose fill is the deliverable; the others (``smoke``) write theirs into their run folder.
FINAL_PRESETS = ("full", "gpu")


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
