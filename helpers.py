"""The notebook's display helpers: figures (from :mod:`mri_inpaint.figures`) and tables.

Each figure function returns a Figure; pass it to :func:`show` to display it (and
optionally save it into :data:`FIGURES`).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from mri_inpaint.figures import (error_panels, fill_panels, image_grid, labelled_rows, mask_figure,  # noqa: F401
                                 mean_images, training_curves)

FIGURES = Path(__file__).resolve().parent / "figures"


def _display(obj, fallback: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(fallback)
        return
    if get_ipython() is not None:
        display(obj)
    else:
        print(fallback)


def show(fig, save_as: str | Path | None = None) -> None:
    """Display ``fig`` (inline in a notebook) and close it; with ``save_as`` (a file name, or a
    path) also save it, a bare name going into :data:`FIGURES`."""
    if save_as is not None:
        path = Path(save_as) if Path(save_as).parent != Path(".") else FIGURES / save_as
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    _display(fig, "")
    plt.close(fig)


def show_markdown(text: str) -> None:
    """Render Markdown (tables, text with computed numbers) in the notebook; print it elsewhere."""
    try:
        from IPython.display import Markdown
        _display(Markdown(text), text)
    except ImportError:
        print(text)


def markdown_table(rows: list[dict], columns: dict[str, str], formats: dict[str, str] | None = None) -> str:
    """A Markdown table of ``rows`` with ``columns = {key: header}`` and ``formats = {key: spec}``."""
    formats = formats or {}
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [format(row[k], formats.get(k, "")) if k in row else "" for k in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
