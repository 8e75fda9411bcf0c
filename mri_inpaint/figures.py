"""Figures: image grids, gap-filling and error panels, training curves, the mask, and the CLI's run figures.

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


def _series(history: Sequence[dict], key: str):
    """``(epochs, values)`` of ``key`` over the history rows that have it, or None."""
    pts = [(h["epoch"], h[key]) for h in history if h.get(key) is not None]
    return ([e for e, _ in pts], [v for _, v in pts]) if pts else None


def training_curves(history: Sequence[dict], *, path: Path | str | None = None) -> "Figure":
    """Per-epoch curves: training and validation loss on one axis, validation PSNR, and the label-free check.

    The training loss is the L1 on the gaps averaged over the epoch's steps (``train_l1_gaps``);
    the validation loss is the same L1 on the gaps of the validation images after the epoch
    (``val_mae_gaps``: the mean absolute error over the missing pixels). The label-free check on
    the test images (``real_check_psnr``) measures another thing (observed pixels of the real
    images, hidden by a shifted mask) and gets its own axis.

    Args:
        history: the training log, one dict per epoch with ``epoch`` and those keys (missing
            keys leave their curve out).
        path: save the figure there.

    Returns:
        The figure, three axes: loss, validation PSNR, label-free check.
    """
    fig, (ax_l, ax_p, ax_c) = _plt().subplots(1, 3, figsize=(13, 3.4))

    def plot(ax, key, label, **kw):
        s = _series(history, key)
        if s:
            ax.plot(*s, marker="o" if len(s[0]) < 30 else None, ms=3, label=label, **kw)
        return s

    plot(ax_l, "train_l1_gaps", "training (mean over the epoch)", color="C0")
    plot(ax_l, "val_mae_gaps", "validation (after the epoch)", color="C1")
    ax_l.set(title="L1 loss on the gaps", xlabel="epoch", ylabel="mean |fill - truth| on the gaps")
    best = plot(ax_p, "val_psnr_gaps", "validation PSNR (gaps)", color="C1")
    if best:
        i = int(np.argmax(best[1]))
        ax_p.scatter([best[0][i]], [best[1][i]], color="k", zorder=3, s=18,
                     label=f"best {best[1][i]:.2f} dB (epoch {best[0][i]})")
    ax_p.set(title="validation PSNR on the gaps", xlabel="epoch", ylabel="dB")
    if not plot(ax_c, "real_check_psnr", "label-free check", color="C4"):
        ax_c.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax_c.transAxes)
    ax_c.set(title="label-free check on the test images", xlabel="epoch", ylabel="dB on hidden observed pixels")
    for ax in (ax_l, ax_p, ax_c):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _window_sums(x: np.ndarray, size: int) -> np.ndarray:
    """Sums of ``x`` ``(N, H, W)`` over every ``size`` x ``size`` window: ``(N, H - size + 1, W - size + 1)``."""
    t = np.pad(x, ((0, 0), (1, 0), (1, 0))).cumsum(1).cumsum(2)  # summed-area table
    return t[:, size:, size:] - t[:, :-size, size:] - t[:, size:, :-size] + t[:, :-size, :-size]


def texture_window(truth, size: int = 16, *, inside: int = 4, threshold: float = 0.1) -> tuple[int, int, int]:
    """The ``size`` x ``size`` window with the most texture: the largest sum of squared truth gradients.

    Windows must lie inside the head, ``inside`` pixels within its outline (the pixels above
    ``threshold``, holes filled), so the bright scalp edge against the background does not win
    over the brain's folds; with no such window anywhere, every window counts.

    Args:
        truth: ``(N, 1, H, W)`` or ``(N, H, W)`` ground-truth images in [0, 1].
        size: window side (pixels), at most the image size.
        inside: pixels eroded from the head's outline (0: windows may touch the background).
        threshold: intensity above which a pixel belongs to the head.

    Returns:
        ``(image index, top row, left column)`` of the window.
    """
    from scipy import ndimage

    imgs = _stack(truth).astype(np.float64)
    if not 1 <= size <= min(imgs.shape[1:]):
        raise ValueError(f"window size {size} must be between 1 and the image size {imgs.shape[1:]}")
    gy, gx = np.gradient(imgs, axis=(1, 2))
    sums = _window_sums(gy ** 2 + gx ** 2, size)
    head = np.stack([ndimage.binary_fill_holes(img > threshold) for img in imgs])
    if inside > 0:
        head = np.stack([ndimage.binary_erosion(h, iterations=inside) for h in head])
    valid = _window_sums(head.astype(np.float64), size) >= size * size - 0.5
    if valid.any():
        sums = np.where(valid, sums, -np.inf)
    i, r, c = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(i), int(r), int(c)


def error_panels(truth, filled, mask, *, n: int = 6, zoom: int = 16, window: tuple[int, int, int] | None = None,
                 size: float = 1.6, title: str | None = None, path: Path | str | None = None) -> "Figure":
    """Truth, fill and absolute error for ``n`` images, and a zoom on their most textured window.

    The top block has one column per image (titled with its gap PSNR) and three rows: truth,
    fill, |fill - truth|. The bottom row shows the window of :func:`texture_window` (drawn as a
    box above) at a larger size: truth, fill and error. Both error maps share one colour scale,
    labelled in intensity units (images in [0, 1]).

    Args:
        truth: ``(N, 1, H, W)`` ground truth; filled: the fills of the same images.
        mask: bool ``(H, W)``, True where missing (the error is zero elsewhere: observed pixels are kept).
        n: images shown, the first ``n``.
        zoom: side of the zoomed window (pixels).
        window: a fixed window ``(image index, top row, left column)`` to zoom on, named in the
            zoom's title; None: :func:`texture_window`'s choice.
        size: inches per image in the top block.
        title: title of the figure.
        path: save the figure there.

    Returns:
        The figure: ``3 * n`` image axes and two colour bars above, three zoom axes and a colour bar below.
    """
    from matplotlib.patches import Rectangle

    from .metrics import masked_psnr

    truth, filled = _stack(truth)[:n], _stack(filled)[:n]
    if truth.shape != filled.shape:
        raise ValueError(f"truth and fill differ in shape: {truth.shape} vs {filled.shape}")
    n = len(truth)
    error = np.abs(filled - truth)
    err_max = max(float(error.max()), 1e-6)
    scores = masked_psnr(filled, truth, mask)
    k, r0, c0 = texture_window(truth, zoom) if window is None else window
    if not (0 <= k < n and 0 <= r0 <= truth.shape[1] - zoom and 0 <= c0 <= truth.shape[2] - zoom):
        raise ValueError(f"window {window} must name one of the {n} images shown and fit a {zoom}x{zoom} crop")
    plt = _plt()
    fig = plt.figure(figsize=(size * n + 1.2, size * 3 + size * 2.2 + (0.4 if title else 0)), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[3, 2.2])
    axes = top.subplots(3, n, squeeze=False)
    ims = [None] * 3
    for col in range(n):
        for row, (img, cmap, hi) in enumerate(((truth[col], "gray", 1), (filled[col], "gray", 1),
                                                 (error[col], "magma", err_max))):
            ax = axes[row, col]
            ims[row] = ax.imshow(img, cmap=cmap, vmin=0, vmax=hi, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if col == k:
                ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), zoom, zoom, fill=False, ec="C2", lw=1.2))
        axes[0, col].set_title(f"#{col}: {scores[col]:.1f} dB", fontsize=8)
    for row, name in enumerate(("truth", "fill", "|error|")):
        axes[row, 0].set_ylabel(name, fontsize=10)
    # one colour bar per block of rows, the same width, so that the three rows stay aligned
    top.colorbar(ims[0], ax=axes[:2, :].ravel().tolist(), fraction=0.04, pad=0.01, label="intensity")
    top.colorbar(ims[2], ax=axes[2, :].tolist(), fraction=0.04, pad=0.01, label="|fill - truth|")
    window = (slice(r0, r0 + zoom), slice(c0, c0 + zoom))
    zaxes = bottom.subplots(1, 3, squeeze=False)[0]
    for ax, (img, cmap, hi, name) in zip(zaxes, ((truth[k], "gray", 1, "truth"), (filled[k], "gray", 1, "fill"),
                                                 (error[k], "magma", err_max, "|fill - truth|"))):
        im = ax.imshow(img[window], cmap=cmap, vmin=0, vmax=hi, interpolation="nearest",
                       extent=(c0 - 0.5, c0 + zoom - 0.5, r0 + zoom - 0.5, r0 - 0.5))
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    zaxes[0].set_ylabel("row")
    for ax in zaxes:
        ax.set_xlabel("column")
    bottom.colorbar(im, ax=zaxes[2], fraction=0.05, pad=0.02, label="|fill - truth| (intensity, images in [0, 1])")
    why = ("the window inside the head with the most truth gradient energy" if window is None
           else "a fixed window")
    bottom.suptitle(f"zoom on image #{k}, rows {r0}-{r0 + zoom - 1}, columns {c0}-{c0 + zoom - 1}: {why}",
                    fontsize=9)
    if title:
        fig.suptitle(title)
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
