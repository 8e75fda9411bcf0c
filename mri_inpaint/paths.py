"""Where the job's files live: the project folder, the committed weights, and :class:`Paths`."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

#: The checkout the package lives in (when installed editable or run from a clone).
REPO_DIR = Path(__file__).resolve().parent.parent

#: The committed final weights used by ``fill``/``check``/``evaluate`` when none are given.
DEFAULT_WEIGHTS = REPO_DIR / "weights" / "inpaint_unet.pt"


def project_root() -> Path:
    """The checkout when the package runs from one, else the working folder."""
    return REPO_DIR if (REPO_DIR / "pyproject.toml").exists() else Path.cwd()


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

    @classmethod
    def default(cls, root: Path | str | None = None, *, run_name: str = "main") -> "Paths":
        root = Path(root) if root is not None else project_root()
        data_env = os.environ.get("MRI_DATA_DIR")  # e.g. a Drive folder on Colab, so caches survive
        return cls(root=root, data_dir=Path(data_env) if data_env else root / "data",
                   run_dir=root / "runs" / run_name, output=root / "test_set_nogaps.npy",
                   figures=root / "figures")

    def replace(self, **changes) -> "Paths":
        return replace(self, **changes)

    @property
    def course_dir(self) -> Path:
        """Where ``course-setup`` unpacks the course bundle."""
        return self.data_dir / "course"
