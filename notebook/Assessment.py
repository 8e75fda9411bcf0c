# ---
# The source of Assessment.ipynb: `python scripts/build_notebook.py` merges it with the course
# template (../shared/template/Assessment.ipynb). A cell marked template="N" is the template's
# cell N: a markdown one is copied word for word (its body here stays empty), a code one keeps
# every line of the template's and may wrap them. Every other cell is an added answer cell.
# ---

# %% [markdown] template="0"

# %% [markdown]
# **Set-up.** The answers call the small tested package `mri_inpaint/` of this repository (the same functions run
# from the command line as `mri-inpaint run`). On Colab this cell mounts Drive, clones the repository into
# `/content/mri-inpaint` (set `REPO_URL` below once) and keeps the working folder at `/content`, where the course's
# set-up cell expects it; every costly result (generated images, checkpoints, figures, the filled test set) is kept
# in `MyDrive/mri_inpaint`, so after a runtime reset "Run all" resumes from Drive. On a GPU the larger `gpu` preset
# is used, on a CPU the `full` preset.

# %%
import os
import sys
from pathlib import Path

IN_COLAB = "google.colab" in sys.modules
REPO_URL = os.environ.get("MRI_REPO_URL", "")  # this repository's git URL: needed on Colab only
if IN_COLAB:
    os.chdir("/content")  # the course's set-up cell unpacks its bundle here; its sys.path line is absolute
    from google.colab import drive
    drive.mount('/content/drive')  # everything costly is kept on Drive
REPO = next((p for p in (Path.cwd(), *Path.cwd().parents, Path("/content/mri-inpaint"))
             if (p / "mri_inpaint").is_dir()), None)
if REPO is None and IN_COLAB:
    if not REPO_URL:
        raise RuntimeError("set REPO_URL in this cell to this repository's git URL, then run the cell again")
    !git clone --depth 1 {REPO_URL} /content/mri-inpaint
    REPO = Path("/content/mri-inpaint")
if REPO is None:
    raise RuntimeError(f"open this notebook from the mri-inpaint repository folder (now in {Path.cwd()})")
sys.path.insert(0, str(REPO))

import numpy as np
import torch

import helpers
from mri_inpaint import colab, pipeline
from mri_inpaint.config import preset, with_overrides
from mri_inpaint.paths import Paths
from mri_inpaint.utils import pick_device, seed_everything

PRESET = os.environ.get("MRI_PRESET") or ("gpu" if torch.cuda.is_available() else "full")
cfg = preset(PRESET)
WORK = colab.DRIVE_WORK if IN_COLAB else Path(os.environ.get("MRI_WORK_DIR", REPO))
paths = Paths.default(WORK, run_name=f"notebook-{PRESET}")
helpers.FIGURES = paths.figures
seed_everything(0)
device = pick_device(cfg.device)
print(f"preset {PRESET!r} on {device} (torch {torch.__version__}); repository {REPO}; results under {WORK}")

# %% [markdown] template="1"

# %% template="2"
import os
import sys

print(f"Python {sys.version.split()[0]} in {os.getcwd()}")

# %% template="3"
COURSE_BUNDLE = False  # becomes True where the course's generator is installed
if IN_COLAB and os.path.isfile("/content/drive/MyDrive/cw1_files.zip"):
    COURSE_BUNDLE = True
    if not colab.bundle_unpacked():  # a rerun skips the unzip, which would stop at a "replace?" prompt
        !unzip /content/drive/MyDrive/cw1_files.zip -d ./
        print("moved up from the re-packed bundle:", colab.flatten_bundle() or "nothing (flat layout)")
    if not colab.setup_done():  # run.sh runs once per runtime
        !chmod +x run.sh
        !bash ./run.sh
        colab.mark_setup_done()
    sys.path.append('/content/ese-invldm')
elif IN_COLAB:
    # No bundle on Drive: the course's first set-up, downloading the same files with gdown
    if not os.path.isfile("run.sh"):
        # Pull and install necessary files
        !gdown 1-6JPxY7rUySRaCXTKHD400e8UWs2DZiY # run.sh
        !gdown --folder 1-PJmUzB9HN3mCKsl7qKGlUynltY5ttp7 # ese-invldm
        !gdown --folder 1-V9EOGuiYOiszIg3pA15D9ThwXO1gr4E # files
    COURSE_BUNDLE = os.path.isfile("run.sh") and colab.bundle_unpacked()
    if COURSE_BUNDLE and not colab.setup_done():
        !chmod +x run.sh
        !bash ./run.sh
        colab.mark_setup_done()
    sys.path.append('/content/ese-invldm')
else:
    from mri_inpaint.course_setup import ensure_course_importable

    COURSE_BUNDLE = ensure_course_importable(paths.course_dir)  # installed by `mri-inpaint course-setup`
    print("not on Colab: the course bundle is " + ("installed (mri-inpaint course-setup)" if COURSE_BUNDLE else
          "not installed here, so the repository's embedded real heads stand in for the generator"))

# %% template="4"
try:
    from ese_invldm import generate
except Exception as exc:  # its own imports may fail too, not only a missing package
    generate = colab.no_generator(exc, expected=COURSE_BUNDLE)  # stops here when the bundle is installed

"""
Generates samples using a diffusion-based generative model.

This function leverages a pre-configured diffusion model to produce synthetic samples.
The sampling process supports adjustable parameters for total samples, inference steps, and batch size.
A scheduler and temperature can also be configured to control the sampling behaviour.

Parameters:
    num_samples (int):
        Total number of samples to generate.
    num_inference_steps (int):
        Number of diffusion inference steps.
        The minimum number of steps is 1, but we recommend exploring the range from 10 to 50.
        Please note that more steps will increase quality but also the computational cost. Be careful not
        to burn through your credits by using a very large number of steps!
    batch_size (int):
        Number of samples to process in each batch during sampling.
    scheduler (str, optional):
        Sampling scheduler to use (e.g., "ddim", "ddpm"). You can quickly test which one provides the most appropriate results
        for this task.
    temperature (float, optional):
        Sampling temperature to control randomness, given as a number between 0 and 1. Higher values produce more diverse outputs.
    seed (int, optional):
        Random seed for reproducibility. Defaults to 42.

Returns:
    list:
        A list containing the batches of generated samples, where each sample
        corresponds to a single data instance produced by the diffusion model.

"""

if generate is not None:
    from mri_inpaint.sources import as_image_batch
    from mri_inpaint.sources.course import quiet

    with quiet():  # generate prints a line and a progress bar per batch
        samples = generate(num_samples=20, num_inference_steps=25, batch_size=16, scheduler="ddim",
                           temperature=1.0, seed=42)
    first = samples[0]
    print(f"generate returned a {type(samples).__name__} of {len(samples)} batches, the first "
          f"{tuple(first.shape)} {first.dtype} on {first.device}, values in [{float(first.min()):.3f}, "
          f"{float(first.max()):.3f}]: each image is min-max normalised to [0, 1] like the test images")
    helpers.show(helpers.image_grid(as_image_batch(samples)[:10], suptitle="a first look: 10 images of generate"))

# %% [markdown]
# **The test images.** `test_set.npy` is read from the repository folder (or `MyDrive` on Colab, or `$MRI_TEST_SET`).
# The missing pixels are exactly 0, and the same pixels are missing in every image, so the mask is read off the
# images themselves: a pixel is missing when it is 0 in at least half of them.

# %%
drive_copy = Path("/content/drive/MyDrive/test_set.npy")
test = pipeline.load_inputs(drive_copy if drive_copy.is_file() and not Path("test_set.npy").is_file() else None)
print(f"{test.path}: {test.images.shape} {test.images.dtype}, values in [{test.images.min():.0f}, "
      f"{test.images.max():.0f}]; {int(test.mask.sum())} of {test.mask.size} pixels missing ({test.mask.mean():.1%})")

# %% [markdown]
# **Choosing how to generate.** `generate` trades speed for fidelity through the scheduler (DDIM or DDPM), the
# number of denoising steps and the temperature. Instead of guessing, each setting generates the same number of
# images, the test mask is applied to them, and they are compared with the test images' *observed* pixels: how
# many of ten framing statistics (top margin, first and last columns with tissue, head width, tissue fraction,
# mean and 99th-percentile intensity, crown roundness, tissue centroid) lie within the test images' mean ± 1 sd
# (are the heads placed, sized and shaped like the test heads?); the correlation of the two mean images; the mean
# distance from each test image to its nearest generated image (does every test image have a look-alike?); the
# distance between the intensity histograms; and the seconds each image costs. The framing count decides first,
# the nearest-neighbour distance second. Generation is the expensive part on a free GPU (about 0.27 s an
# image at 25 steps on a T4), so a time budget decides how many images are generated: the closest setting that
# makes enough images within it is used, and augmented copies of the generated images (small warps and
# intensity curves) complete the training set. The projection is printed before generation starts, and each
# setting's sample is kept on disk (on Drive on Colab), so a rerun measures nothing twice.
#
# Without the course bundle the same measurements are made for the **stand-in**: sagittal slices of real heads
# embedded in this repository (Colin27, ROBEX, ITK, BrainBrowser and two population templates; `References.md`),
# framed like the test images and varied by slice position, warps, intensity curves, bias fields, blur and noise.
# One person's head, ROBEX, is kept out of training altogether: Question 3 uses it as a labelled stand-in for the
# test images. A mirrored copy of the mix is a control: the test faces point right, so mirroring must score worse.

# %%
from mri_inpaint.fidelity import fidelity, framing_comparison, framing_rows, timed_fidelity
from mri_inpaint.generation import measured_setting, plan_generation
from mri_inpaint.sources import AnatomyParams, AnatomySource, CourseSource

if generate is not None:
    grid = [("ddim", k, t) for k in (10, 25, 50) for t in (0.8, 1.0)] + [("ddpm", 25, 1.0)]
    sweep = []
    for s, k, t in grid:
        params = {"scheduler": s, "num_inference_steps": k, "temperature": t}
        row = measured_setting(f"{s}, {k} steps, temperature {t}", params,
                               lambda: CourseSource(**params).sample(cfg.data.sweep_images, 42),
                               paths.data_dir / "generator-sweep")
        framing = framing_comparison(row["images"], test.images, test.mask)
        sweep.append({**row, **fidelity(row["images"], test.images, test.mask), "framing": framing,
                      "framing_within": f"{framing['within']} of {framing['of']}"})
    plan = plan_generation(sweep, cfg.data.num_images, cfg.data.generation_budget_s,
                           min_images=cfg.data.min_generated)
    cfg = with_overrides(cfg, data={"source": "course", "course_scheduler": plan.params["scheduler"],
                                    "course_steps": plan.params["num_inference_steps"],
                                    "course_temperature": plan.params["temperature"],
                                    "generated_images": plan.generated})
    print(plan.describe())
else:
    mix, n = pipeline.image_source(with_overrides(cfg, data={"source": "anatomy"}).data, paths), 300
    sweep = [timed_fidelity("embedded heads, the training mix", lambda: mix.sample(n, seed=99),
                            test.images, test.mask),
             timed_fidelity("the mix mirrored (control)", lambda: mix.sample(n, seed=99)[..., ::-1],
                            test.images, test.mask)]
    sweep += [timed_fidelity(f"{h} alone", lambda: AnatomySource(AnatomyParams(heads=(h,))).sample(n, seed=99),
                             test.images, test.mask) for h in mix.head_names]  # the same number of images each
    cfg = with_overrides(cfg, data={"source": "anatomy"})
    print(f"mean-image correlation with the test images: the mix {sweep[0]['mean_image_corr']:.3f}, mirrored "
          f"{sweep[1]['mean_image_corr']:.3f}: the faces of the training heads point "
          f"{'right, as in the test images' if sweep[0]['mean_image_corr'] > sweep[1]['mean_image_corr'] else 'the wrong way'}")
helpers.show_markdown(helpers.markdown_table(
    sweep, {"setting": "images", "framing_within": "framing statistics within test ± 1 sd ↑",
            "mean_image_corr": "mean-image correlation ↑", "nn_mse": "nearest-neighbour MSE ↓",
            "intensity_w1": "intensity distance ↓", "s_per_image": "seconds per image"},
    {"mean_image_corr": ".3f", "nn_mse": ".4f", "intensity_w1": ".4f", "s_per_image": ".5f"}))
used = next(r for r in sweep if r["setting"] == (plan.setting if generate is not None else sweep[0]["setting"]))
helpers.show_markdown(f"**Framing of the images used ({used['setting']}) against the test images**, observed "
                      "pixels only, tissue > 0.1\n\n" + helpers.markdown_table(
    framing_rows(used["framing"]), {"statistic": "statistic", "test": "test images", "images": "these images",
                                    "z": "z of the mean", "within": "within ± 1 sd"}, {"z": "+.1f"}))
helpers.show(helpers.mean_images({"test images": test.images, sweep[0]["setting"]: sweep[0]["images"],
                                  sweep[1]["setting"]: sweep[1]["images"]}, test.mask), "q1_mean_images.png")


# %% [markdown]
# More framing statistics within the test images' spread, higher correlation and lower distances mean closer to the
# test images. With the generator, the plan printed above says which setting won and why. Without it, the mirrored
# control shows the orientation: the test faces point right, so a mirrored mix must look less like them (the
# reading above says whether it does). The mix of heads is used rather than the closest single head because a
# network must see several people to fill a person it never saw. The embedded heads are framed by these
# statistics: every head is drawn a little flatter than its scan, and each head's zoom and position are fitted so
# that its mean top margin and first and last columns with tissue are the test images'. The framing table shows
# which statistics that brings within the test images' spread and which stay out; against the earlier framing it
# filled two heads never trained on as well (`docs/results.md`). The crown's roundness is the one that can stay
# out: the elastic warp's local bends pinch some crowns into points, and the warps that keep every crown round (a
# smoother field, or the same field faded at the outline) filled heads never trained on worse (the choices table
# in Question 3; `docs/results.md`). The generator, which frames its heads as the test images are framed, is the
# better source where the bundle exists.
# %% [markdown]
# The training set is generated once into a resumable, checksummed cache (an interrupted run continues where it
# stopped; on Colab the cache lives on Drive), and the first ten images and the first ten test images are shown.

# %%
train_images = pipeline.training_images(cfg, paths, progress=False, report=print)  # one line per generated chunk
source_name = ("course generator" if cfg.data.source == "course" else
               "embedded real heads, standing in for the generator (no course bundle)")
print(f"{len(train_images)} training images {train_images.shape[1:]} from the {source_name}, cached under "
      f"{paths.data_dir.resolve()}")
helpers.show(helpers.image_grid(train_images[:10], suptitle=f"10 training images: {source_name}"), "q1_generated.png")
helpers.show(helpers.image_grid(test.images[:10], suptitle="10 test images from test_set.npy (missing pixels are 0)"),
             "q1_test.png")


# %% [markdown]
# Both rows show near-midline sagittal slices with the top of the head up and the face to the right (anterior =
# high column index). The training images are complete, so they become labels once corrupted with the test
# images' mask in Question 2.
# %% [markdown] template="5"

# %% template="6"
# The corruption is read off the test set: ideal slanted stripes plus the few pixels where the real pattern departs.
from mri_inpaint.masks import fit_stripes

stripes = fit_stripes(test.mask)
print(f"stripes of width {stripes.width:g} px, period {stripes.period:.3f} px, slant {stripes.slant:+.3f} px per row, "
      f"plus {len(stripes.exceptions)} exception pixels: the training pairs use this exact mask")
helpers.show(helpers.mask_figure(test.mask, stripes), "q2_mask.png")

# %% [markdown]
# **The datasets and loaders.** The next cell is the package's own code (`mri_inpaint/dataset.py`, copied in when
# the notebook is built, so it cannot drift from what the command line runs) and it runs here. The clean training
# images go into a `TensorDataset`; `CorruptedPairs` wraps it and corrupts each image when it is read, returning
# *(corrupted input, mask, clean label)*: with the exact test mask, or, with probability `shift_prob`, a randomly
# translated copy of it (other stripe phases), so that the network cannot memorise one phase. A fixed 5% of the
# images is set aside as validation images, always with the exact mask. The test images go into their own
# `TensorDataset`, in file order, with no labels.

# %% source="mri_inpaint/dataset.py:*imports,CorruptedPairs,split_indices,make_train_loaders,make_test_loader"
# mri_inpaint/dataset.py

# %%
train_loader, val_loader = make_train_loaders(train_images, test.mask, batch_size=cfg.train.batch_size,
                                              val_fraction=cfg.train.val_fraction, shift_prob=cfg.train.shift_prob,
                                              seed=cfg.train.seed)
test_loader = make_test_loader(test.images)
print(f"training: a {type(train_loader.dataset.clean).__name__} of {len(train_loader.dataset)} clean images, "
      f"corrupted on reading ({cfg.train.shift_prob:.0%} with a shifted mask), in shuffled batches of "
      f"{train_loader.batch_size}; validation: {len(val_loader.dataset)} pairs with the exact mask; "
      f"test: a {type(test_loader.dataset).__name__} of {len(test_loader.dataset)} images in file order")

# %%
corrupted, mask_batch, clean = next(iter(train_loader))
helpers.show(helpers.labelled_rows({"input": corrupted, "label": clean},
                                   suptitle="10 training pairs from the training DataLoader"), "q2_pairs.png")
(test_batch,) = next(iter(test_loader))
helpers.show(helpers.labelled_rows({"input": test_batch}, suptitle="10 test images from the test DataLoader "
                                   "(no labels exist)"), "q2_test.png")


# %% [markdown]
# Each training input carries the test images' stripes (shifted in some of them), and its label is the complete
# image; the test loader returns the test images in file order, with no labels.
# %% [markdown] template="7"

# %% [markdown]
# **The network.** Every missing pixel has observed neighbours one or two pixels away in its own row, so the network
# starts from the row-wise linear interpolation of the gaps and learns a correction to it: a U-Net (Ronneberger et
# al., 2015) sees the corrupted image, the mask and the interpolation, its encoder gathers context across several
# stripes and its skip connections hand the decoder the detail beside each gap. Its last layer starts at zero, so
# an untrained network *is* the interpolation; the output is clamped to [0, 1] and hard data consistency puts every
# observed pixel back unchanged. `with_shifts` gives the optional shift-averaged fill (the image filled in windows
# shifted against the pooling grid, averaged). The code is `mri_inpaint/model.py`, run here.

# %% template="8" source="mri_inpaint/model.py:*imports,ConvBlock,UNet,InpaintNet,with_shifts,count_parameters"
# mri_inpaint/model.py

# %%
from mri_inpaint.baselines import row_interpolate

network = InpaintNet(chans=cfg.train.chans, num_pool_layers=cfg.train.num_pool_layers).eval()
x, m, _ = next(iter(val_loader))
with torch.no_grad():
    out = network(x, m)
observed = m == 0
print(f"InpaintNet: U-Net with {cfg.train.num_pool_layers} poolings and {cfg.train.chans} channels at full "
      f"resolution, {count_parameters(network):,} parameters. Before training: observed pixels returned unchanged: "
      f"{torch.equal(out[observed], x[observed])}; largest difference from the row-wise interpolation: "
      f"{(out - row_interpolate(x, m.bool()).clamp(0, 1)).abs().max().item():.1e}")

# %% [markdown]
# **Training.** The loss is the mean absolute error on the missing pixels only (`masked_l1`), with AdamW, a linear
# warm-up and a cosine decay of the learning rate to 0 (`lr_factor`). After each epoch the network is validated on
# the validation images and also scored by the label-free check on the real test images (below). `last.pt` is written
# every epoch with the optimiser, schedule and random states, so rerunning the cell after an interruption continues
# the run exactly; `best.pt` keeps the epoch with the best validation PSNR. The code is `mri_inpaint/losses.py` and
# `mri_inpaint/train.py`, run here.

# %% source="mri_inpaint/losses.py:masked_l1"
import csv
import json
import logging
import math
import time
from dataclasses import asdict
from typing import Callable

from tqdm import tqdm

from mri_inpaint.checkpoint import load_checkpoint, make_state, save_checkpoint
from mri_inpaint.config import TrainConfig
from mri_inpaint.metrics import evaluate_fill
from mri_inpaint.train import _architecture, write_history
from mri_inpaint.utils import pick_device

# %% source="mri_inpaint/train.py:log,EpochHook,StepLoss,lr_factor,train_step,validate"
# mri_inpaint/train.py: one step, and validation

# %% source="mri_inpaint/train.py:train"
# mri_inpaint/train.py: the resumable training loop

# %%
model, state = pipeline.train_or_resume(cfg, train_images, test, paths, progress=False, train=train)
history = state["history"]
helpers.show_markdown(helpers.markdown_table(
    history, {"epoch": "epoch", "lr": "learning rate at the end", "train_l1_gaps": "train L1 (gaps)",
              "val_mae_gaps": "validation L1 (gaps)", "val_psnr_gaps": "val PSNR gaps (dB)",
              "real_check_psnr": "label-free check (dB)", "seconds": "seconds"},
    {"lr": ".2g", "train_l1_gaps": ".4f", "val_mae_gaps": ".4f", "val_psnr_gaps": ".2f", "real_check_psnr": ".2f",
     "seconds": ".0f"}))
helpers.show(helpers.training_curves(history), "q3_training_curves.png")
val = [r["val_psnr_gaps"] for r in history]
check = [r["real_check_psnr"] for r in history]
last = f"{val[-1] - val[-2]:+.2f} dB in the last epoch" if len(val) > 1 else "a single epoch"
print(f"{sum(r['seconds'] for r in history) / 60:.1f} minutes of training. Validation PSNR on the gaps: "
      f"{val[0]:.2f} dB after epoch 1, {val[-1]:.2f} dB after epoch {len(val)} ({last}, as the learning rate "
      f"fell to {history[-1]['lr']:.1g}). Label-free check: highest {max(check):.2f} dB after epoch "
      f"{check.index(max(check)) + 1}, {check[-1]:.2f} dB at the end. The network kept is epoch "
      f"{state['resume']['epoch'] + 1}'s (best validation).")


# %% [markdown]
# How to read this. The cosine schedule takes the learning rate to 0 in the last epoch, so a small last-epoch gain
# shows that the schedule ended, not that longer training could not help; no claim of convergence is made. The
# training and validation losses are on the same footing (L1 on the gaps; validation with the exact mask only), and
# their gap shows how much the network fits the training heads beyond the validation images. The label-free check
# scores the real test images, but only on observed pixels hidden by a shifted mask, which are not the real gaps,
# so its rise and fall need not follow the quality of the fill on the gaps: it is evidence that the network fills
# real images sensibly, not a stopping signal. The evidence that matters comes next: a head the network never saw,
# where the truth is known.
# %% [markdown]
# **Self-training.** The test images have no labels, but half their pixels are known. Translating the mask sideways
# by 1-3 px hides observed pixels: a test image is filled (a *pseudo-fill*), re-masked with the translated mask and
# filled again, and the loss is taken on the hidden observed pixels, whose true values are known (the idea follows
# Noise2Self, Batson & Royer 2019). Synthetic pairs under the exact mask are mixed into every step to keep the
# network anchored to the real task. The code is `mri_inpaint/adapt.py`, run here.

# %% source="mri_inpaint/adapt.py:self_training_batch,self_train"
import copy

from mri_inpaint.config import AdaptConfig
from mri_inpaint.fill import predict
from mri_inpaint.masks import shift_mask

# %% [markdown]
# **Evidence on a head the network never saw.** Every test image shows a person the network never saw, through the
# exact test mask, and the final fill may self-train on those images without labels. The same situation is rebuilt
# where the truth is known: slices of the ROBEX head, which training never drew from, are corrupted with the exact
# test mask; the network is self-trained on them exactly as on the test images, and each candidate fill is scored
# on the gaps against the truth: the trained network, self-training, and the *shift-averaged* fill (four windows,
# four times the cost of a plain fill). Each step is judged slice by slice against the fill without it: it is kept
# only when its mean gain exceeds two standard errors of the paired differences; a tie ships the cheaper fill.

# %%
from mri_inpaint.evaluate import format_table
from mri_inpaint.holdout import format_comparisons

anchors = pipeline.anchor_images(train_images, cfg.adapt)
held_out, choice, slices = pipeline.held_out_evidence(cfg, model, test.mask, anchors, progress=False,
                                                      self_train=self_train,
                                                      cache=paths.run_dir / "held_out_evidence.npz")
helpers.show_markdown(f"**{cfg.data.held_out_images} slices of the {cfg.data.held_out_head} head (never trained "
                      "on), exact test mask**\n\n" + format_table(held_out)
                      + "\n\n**Each fill step, paired per slice**\n\n" + format_comparisons(choice["comparisons"]))
print(f"the fill chosen for the test images: {choice['fill']}")

# %%
helpers.show(helpers.error_panels(slices["clean"], slices["filled"], test.mask), "q3_held_out_errors.png")


# %% [markdown]
# The panels show the truth, the chosen fill and its absolute error on slices of the head never trained on, each
# titled with its own PSNR on the gaps, and a zoom on the most textured window: the error row shows where the fill
# departs from the truth, and the zoom whether fine texture inside the gaps is kept or smoothed.
# %% [markdown]
# **Self-training on the test images, and the label-free check.** The fill chosen above is applied to the test
# images. To check self-training honestly without labels, the test images are split in two halves: a copy adapted
# on one half is checked on the other, and the other way round (cross-fitting); then a copy adapted on all test
# images is made. The label-free check hides observed pixels with the shifted mask and scores the fill there.

# %%
from mri_inpaint.check import check_methods, format_check_table
from mri_inpaint.evaluate import methods_table

adapted, cross = pipeline.adapt_to_test_images(cfg, model, test, anchors, paths, progress=False,
                                               self_train=self_train)
final = with_shifts(adapted if choice["self_train"] else model, choice["test_time_shifts"])
scores = {"real_check": check_methods(test.images, test.mask,
                                     methods_table({"U-Net, trained": model, "U-Net, final fill": final}))}
if cross is not None:
    print(f"cross-fitted check on the test images: {cross['before']['psnr']:.2f} dB trained -> "
          f"{cross['after']['psnr']:.2f} dB self-trained (each half checked by a copy that never saw it)")
helpers.show_markdown("**Label-free check on the test images** (the final fill's row is in-sample when it is "
                      "self-trained: it learnt from these pixels; the cross-fitted figure above is the honest one)"
                      "\n\n" + format_check_table(scores["real_check"]))

# %% [markdown]
# **Filling the test set.** The final fill is written to `test_set_nogaps.npy` atomically, read back and verified:
# same shape and order as `test_set.npy`, every observed pixel identical, finite, in [0, 1].

# %%
out_path = pipeline.output_path(paths, test)
filled = pipeline.fill_and_write(final, test, out_path, keep_previous_in=paths.run_dir)
written = np.load(out_path)
observed = ~np.broadcast_to(test.mask, written.shape)
print(f"{out_path}: {written.shape} {written.dtype}; observed pixels identical to test_set.npy: "
      f"{np.array_equal(written[observed], test.images[observed])}; values in [{written.min():.3f}, {written.max():.3f}]")
helpers.show(helpers.labelled_rows({"test image": test.images, "filled": filled},
                                   suptitle=f"the first 10 test images and their fills ({choice['fill']})"),
             "q3_test_filled.png")
weights = pipeline.export_final(cfg, final, state, {**scores, "held_out_head": held_out, "fill_choice": choice,
                                                    "cross_fitted_check": cross}, paths)
shipped = pipeline.ship_weights(weights, out_path)  # with the deliverable: the weights `mri-inpaint fill` loads
print(f"this run's network is kept as {weights}" + (f" and {shipped}" if shipped else ""))

# %% [markdown]
# **The choices that matter, and their evidence.** Each row compares the adopted setting with an alternative on a
# head the network never saw, from the benchmarks of this repository (`bench/`, each with the command that reran it
# and its result file; the last row shows how much a second training seed alone moves a score, so smaller
# differences are ties).

# %%
from bench.choices import choices_table, format_choices

helpers.show_markdown(format_choices(choices_table()))

# %% [markdown]
# **Architecture and choices.** The gaps are narrow: every missing pixel has observed neighbours one or two pixels
# away in its own row. So the network starts from the row-wise linear interpolation and learns only a correction
# where edges cross the stripes, where anatomy curves and where texture continues; its last layer starts at zero,
# so training starts from the interpolation, and hard data consistency returns every observed pixel unchanged. A
# U-Net (Ronneberger et al., 2015) suits this: its encoder gathers context across several stripes and its skip
# connections hand the decoder the exact detail beside each gap. It is small on purpose (its size is printed
# under its definition) because the hard part is generalising from a few training heads to people never seen:
# the table above shows that a change of the training images (the elastic warp) moves the score on an unseen head
# far more than the optimiser's settings do. GroupNorm (Wu & He, 2018) normalises
# within each image, so statistics do not depend on the batch. The loss is L1 on the gaps alone, which scored above
# MSE on both unseen heads in the table; AdamW (Loshchilov & Hutter, 2019) with a warm-up and a cosine decay trains
# it, with a learning rate and batch size whose alternatives tied at the final run's length. The training pairs use
# the exact test mask, translated at random in some pairs so that no stripe phase is memorised. Self-training on
# the test images' own observed pixels (hiding observed pixels as targets, the idea of Noise2Self, Batson & Royer,
# 2019) adapts the network to the people in the test set; its number of steps and the weight of the synthetic
# anchor pairs are in the table. Every step of the final fill was judged where the truth is known and the situation
# is the test images': a head never trained on, seen through the exact mask, slice by slice; a step ships only when
# its gain beats the noise of those slices, otherwise the cheaper fill ships. The printed tables above give this
# run's numbers; the label-free check on the real test images confirms the direction without labels.

# %% [markdown]
# **References** (with links in `References.md`): Ronneberger, Fischer & Brox, *U-Net*, MICCAI 2015; Batson &
# Royer, *Noise2Self*, ICML 2019; Loshchilov & Hutter, *AdamW*, ICLR 2019; Wu & He, *Group normalization*, ECCV
# 2018; Wang et al., *SSIM*, IEEE TIP 2004; van der Walt et al., *scikit-image*, PeerJ 2014 (biharmonic
# inpainting); the embedded heads and their licences are listed there too.

# %% [markdown] template="9"
