"""Plotting helpers for the notebook: thin wrappers around :mod:`mri_inpaint.figures`.

Each figure function returns a Figure; pass it to :func:`show` to display it (and
optionally save it into ``figures/``).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from mri_inpaint.figures import (contact_sheet, fill_panels, image_grid, mask_figure,  # noqa: F401
                                 training_curves)

FIGURES = Path(__file__).resolve().parent / "figures"


def show(fig, save_as: str | Path | None = None) -> None:
    """Display ``fig`` (inline in a notebook) and close it; with ``save_as`` (a file name, or a
    path) also save it, a bare name going into ``figures/``."""
    if save_as is not None:
        path = Path(save_as) if Path(save_as).parent != Path(".") else FIGURES / save_as
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = display = None
    if get_ipython is not None and get_ipython() is not None:
        display(fig)
    else:
        plt.show()  # a no-op under the non-interactive Agg backend
    plt.close(fig)
