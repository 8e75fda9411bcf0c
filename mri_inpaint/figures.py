"""Figures: image grids, gap-filling panels, training curves, the mask, and the CLI's run figures.

Every function returns a :class:`matplotlib.figure.Figure` and saves it when given
``path``; none calls ``plt.show()``. matplotlib is imported lazily, so the package works
without it and a notebook keeps its inline backend (no backend is forced here).

Conventions: images are ``(N, 1, H, W)`` or ``(N, H, W)`` floats in ``[0, 1]``; a mask
is bool ``(H, W)``, True where a pixel is missing (see :mod:`mri_inpaint.masks`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .masks import StripeParams

#: Colour of the blanked observed pixels in the "filled pixels only" panel (pale blue, outside the grey map).
_BLANK = (0.55, 0.75, 0.95)


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _stack(images) -> np.ndarray:
    """``images`` as a float ``(N, H, W)`` array."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(f"expected single-channel images (N,1,H,W), got {images.shape}")
        images = images[:, 0]
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (N,1,H,W) or (N,H,W), got {images.shape}")
    return images


def _save(fig: "Figure", path: Path | str | None, dpi: int = 120) -> "Figure":
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig


def image_grid(images, *, titles: Sequence[str] | None = None, ncols: int = 10, vmin: float = 0,
               vmax: float = 1, cmap: str = "gray", suptitle: str | None = None,
               size: float = 1.3, fig=None, path: Path | str | None = None) -> "Figure":
    """Show images in a grid.

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)``.
        titles: one short title per image (optional).
        ncols: images per row.
        vmin, vmax, cmap: passed to ``imshow``.
        suptitle: title of the whole grid.
        size: inches per image (for a new figure).
        fig: draw into this figure or subfigure instead of a new figure.
        path: save the figure there (folders are created).

    Returns:
        The figure (``fig`` when given).
    """
    imgs = _stack(images)
    n = len(imgs)
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    if fig is None:
        row_h = size + (0.2 if titles is not None else 0)
        fig = _plt().figure(figsize=(size * ncols, row_h * nrows + (0.4 if suptitle else 0)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if titles is not None and i < len(titles):
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


def labelled_rows(rows: dict, *, n: int = 10, size: float = 1.25, suptitle: str | None = None,
                  path: Path | str | None = None) -> "Figure":
    """Image stacks one above the other, ``n`` columns wide, each row named on its left
    (e.g. corrupted inputs above their labels, or test images above their fills).

    Args:
        rows: ``{row name: (N, 1, H, W) images}``; the first ``n`` of each are shown.
        n: images per row.
        size: inches per image.
        suptitle: title of the figure.
        path: save the figure there.

    Returns:
        The figure.
    """
    stacks = {name: _stack(images)[:n] for name, images in rows.items()}
    plt = _plt()
    fig, axes = plt.subplots(len(stacks), n, figsize=(size * n + 0.9, size * len(stacks) + (0.45 if suptitle else 0)),
                             squeeze=False, layout="constrained")
    for r, (name, imgs) in enumerate(stacks.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(imgs):
                ax.imshow(imgs[c], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[r, 0].set_ylabel(name, fontsize=10)
    for c in range(n):
        axes[0, c].set_title(f"#{c}", fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


def contact_sheet(a, b, *, titles: tuple[str, str] = ("a", "b"), nrows: int = 4, ncols: int = 8,
                  size: float = 0.9, path: Path | str | None = None, **grid_kw) -> "Figure":
    """Two image grids side by side (e.g. synthetic vs real), each of the first ``nrows * ncols`` images.

    Args:
        a, b: ``(N, 1, H, W)`` or ``(N, H, W)`` image stacks.
        titles: title above each grid.
        nrows, ncols: grid shape of each side.
        size: inches per image.
        path: save the figure there.
        **grid_kw: passed to :func:`image_grid` (``vmin``, ``vmax``, ``cmap``).

    Returns:
        The figure.
    """
    k = nrows * ncols
    fig = _plt().figure(figsize=(2 * size * ncols + 0.3, size * nrows + 0.5), layout="constrained")
    for sub, imgs, title in zip(fig.subfigures(1, 2, wspace=0.04), (a, b), titles):
        image_grid(_stack(imgs)[:k], ncols=ncols, suptitle=title, fig=sub, **grid_kw)
    return _save(fig, path)


def fill_panels(corrupted, filled, mask, *, target=None, n: int = 10, size: float = 1.5,
                path: Path | str | None = None) -> "Figure":
    """One row per image: input with gaps, filled image, the filled pixels alone and, given
    ``target``, the target and the absolute error (fastMRI style).

    Args:
        corrupted: ``(N, 1, H, W)`` inputs (missing pixels 0).
        filled: ``(N, 1, H, W)`` gap-filled images.
        mask: bool ``(H, W)``, True where missing.
        target: optional ``(N, 1, H, W)`` ground truth.
        n: number of images (rows) shown, the first ``n``.
        size: inches per panel.
        path: save the figure there.

    Returns:
        The figure.
    """
    corrupted, filled = _stack(corrupted)[:n], _stack(filled)[:n]
    mask = np.asarray(mask, dtype=bool)
    tgt = None if target is None else _stack(target)[:n]
    rows = len(corrupted)
    titles = ["input (gaps)", "filled", "filled pixels only"]
    if tgt is not None:
        titles += ["target", "|error|"]
    cols = len(titles)
    plt = _plt()
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + (0.6 if tgt is not None else 0), size * rows),
                             squeeze=False)
    cmap = plt.get_cmap("gray").with_extremes(bad=_BLANK)
    err_max = None
    if tgt is not None:
        err_max = max(float(np.abs(filled - tgt).max()), 1e-6)
    for r in range(rows):
        gaps_only = np.ma.masked_array(filled[r], mask=~mask)
        panels = [(corrupted[r], "gray", 0, 1), (filled[r], "gray", 0, 1), (gaps_only, cmap, 0, 1)]
        if tgt is not None:
            panels += [(tgt[r], "gray", 0, 1), (np.abs(filled[r] - tgt[r]), "magma", 0, err_max)]
        for c, (img, cm, lo, hi) in enumerate(panels):
            ax = axes[r, c]
            im = ax.imshow(img, cmap=cm, vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
            if tgt is not None and c == cols - 1 and r == 0:
                fig.colorbar(im, ax=axes[:, c].tolist(), fraction=0.05, pad=0.02, label="|error|")
    return _save(fig, path)


def training_curves(history: Sequence[dict], *, path: Path | str | None = None) -> "Figure":
    """Loss, PSNR and SSIM per epoch from the training history.

    Args:
        history: list of dicts with ``epoch``, ``train_l1_gaps``, ``val_psnr_gaps``,
            ``val_ssim_image`` and ``val_ssim_gaps`` (missing keys are skipped).
        path: save the figure there.

    Returns:
        The figure.
    """
    fig, (ax_l, ax_p, ax_s) = _plt().subplots(1, 3, figsize=(13, 3.4))

    def series(key):
        pts = [(h["epoch"], h[key]) for h in history if key in h and h[key] is not None]
        return ([e for e, _ in pts], [v for _, v in pts]) if pts else None

    def plot(ax, key, label, **kw):
        s = series(key)
        if s:
            ax.plot(*s, marker="o" if len(s[0]) < 30 else None, ms=3, label=label, **kw)

    plot(ax_l, "train_l1_gaps", "train L1 (gaps)")
    ax_l.set(title="training loss", xlabel="epoch", ylabel="masked L1")
    if any(h.get("train_l1_gaps", 0) > 0 for h in history):
        ax_l.set_yscale("log")
    plot(ax_p, "val_psnr_gaps", "val PSNR (gaps)", color="C1")
    plot(ax_p, "real_check_psnr", "real-image check", color="C4")
    ax_p.set(title="PSNR: validation and real-image check", xlabel="epoch", ylabel="dB")
    best = series("val_psnr_gaps")
    if best:
        i = int(np.argmax(best[1]))
        ax_p.scatter([best[0][i]], [best[1][i]], color="k", zorder=3, s=18,
                     label=f"best {best[1][i]:.2f} dB (epoch {best[0][i]})")
    plot(ax_s, "val_ssim_image", "val SSIM (image)", color="C2")
    plot(ax_s, "val_ssim_gaps", "val SSIM (gaps)", color="C3")
    ax_s.set(title="validation SSIM", xlabel="epoch", ylabel="SSIM")
    for ax in (ax_l, ax_p, ax_s):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def mean_images(sets: dict, mask, *, size: float = 2.2, path: Path | str | None = None) -> "Figure":
    """The mean image of each named set of images, observed pixels only (gaps shown grey).

    Args:
        sets: ``{name: (N, 1, H, W) images}``.
        mask: bool ``(H, W)``, True where missing (those pixels are left out of every mean).
    """
    fig, axes = _plt().subplots(1, len(sets), figsize=(size * len(sets), size + 0.4), squeeze=False)
    mask = np.asarray(mask, dtype=bool)
    for ax, (name, images) in zip(axes[0], sets.items()):
        mean = np.ma.masked_array(_stack(images).mean(axis=0), mask)
        cmap = _plt().get_cmap("gray").with_extremes(bad="0.55")
        ax.imshow(mean, cmap=cmap, vmin=0, vmax=max(float(mean.max()), 1e-6))
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def mask_figure(mask, stripes: "StripeParams | None" = None, *, path: Path | str | None = None) -> "Figure":
    """Show the mask (white = missing) with its missing count and fraction and, if given,
    the fitted stripe parameters.

    Args:
        mask: bool ``(H, W)``, True where missing.
        stripes: optional :class:`~mri_inpaint.masks.StripeParams` (e.g. from ``fit_stripes``).
        path: save the figure there.

    Returns:
        The figure.
    """
    mask = np.asarray(mask, dtype=bool)
    fig, ax = _plt().subplots(figsize=(4.2, 4.6 if stripes is not None else 4.2))
    ax.imshow(mask, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    title = f"mask: {int(mask.sum())} of {mask.size} pixels missing ({mask.mean():.1%}, white)"
    if stripes is not None:
        title += (f"\nperiod {stripes.period:.3f} px, width {stripes.width:g} px, "
                  f"slant {stripes.slant:+.4f} px/row,\nphase {stripes.phase:.3f}, "
                  f"{len(stripes.exceptions)} exception pixel(s)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def save_run_figures(history: Sequence[dict], images, filled, mask, folder: Path | str, *, n: int = 10) -> list[Path]:
    """Write ``training_curves.png`` and ``test_filled.png`` (first ``n`` test images) into
    ``folder`` (created), closing the figures. Used by ``python -m mri_inpaint run``.

    Returns:
        The paths written.
    """
    plt = _plt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if history:
        fig = training_curves(history, path=folder / "training_curves.png")
        plt.close(fig)
        written.append(folder / "training_curves.png")
    fig = fill_panels(images, filled, mask, n=n, path=folder / "test_filled.png")
    plt.close(fig)
    written.append(folder / "test_filled.png")
    return written
