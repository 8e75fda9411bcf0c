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


# ---------------------------------------------------------------- the one write guard
def deliverable() -> Path:
    """The filled test set the coursework hands in: ``test_set_nogaps.npy`` of the project."""
    return Paths.default().output


def same_file(a: Path | str, b: Path | str) -> bool:
    """True when ``a`` and ``b`` name one file: equal real paths (``..``, symbolic links) or one inode (hard links)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet)
        return False


def _existing_folder(path: Path) -> Path:
    """The nearest folder above ``path`` (itself included) that exists."""
    folder = path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def tracked_folders(root: Path | None = None) -> list[Path]:
    """The folders of the checkout that hold committed files (``git ls-files``; without git: its top-level folders)."""
    import subprocess

    root = (root or project_root()).resolve()
    if not (root / ".git").exists():
        return []
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True,
                               timeout=30).stdout.decode().split("\0")
        folders = {root / Path(n).parent for n in names if n}
    except (OSError, subprocess.SubprocessError):
        folders = {root} | {p for p in root.iterdir() if p.is_dir() and p.name not in (".git", "runs", "data")}
    return sorted(folders)


def require_free_space(path: Path | str, need: int, *, flag: str) -> None:
    """Refuse, before any work, to write ``need`` bytes where the disk has less free.

    Raises:
        OSError: (ENOSPC) not enough free space on the disk of ``path``.
    """
    import errno
    import shutil

    folder = _existing_folder(Path(path).resolve())
    free = shutil.disk_usage(folder if folder.is_dir() else folder.parent).free
    if free < need:
        raise OSError(errno.ENOSPC, f"not enough free disk space for {flag}: {need / 2**20:.0f} MB needed, "
                      f"{free / 2**20:.0f} MB free; free some space or choose another {flag}", str(folder))


def require_writable(path: Path | str, *, flag: str, folder: bool = False, suffix: str | None = None,
                overwrite: bool = False, inputs: dict | None = None, deliverable_ok: bool = False,
                tracked_ok: bool = True) -> Path:
    """The one guard every output passes before any work (files and folders of every subcommand).

    Paths are compared as real paths (``..`` and symbolic links resolved) and as files
    (hard links), so no spelling of a path reaches a file it should not.

    Args:
        flag: the option that named ``path`` (for the messages).
        folder: ``path`` is a folder to write files into (else a file).
        suffix: the file type expected (files only).
        overwrite: an existing file may be replaced (a copy is kept: :func:`keep_copy`).
        inputs: ``{flag: path}`` of the same command's inputs, never written.
        deliverable_ok: ``path`` may be the deliverable (only a final preset's ``run``).
        tracked_ok: ``path`` may lie in a folder of committed files (False for ``--figures``).

    Returns:
        ``path`` unchanged.

    Raises:
        ValueError, FileExistsError, PermissionError: one line naming ``flag`` and what to do.
    """
    path = Path(path).expanduser()
    real = path.resolve()
    if not folder:
        if suffix and path.suffix != suffix:
            raise ValueError(f"{flag} {path} must end in {suffix}: choose another {flag}")
        if path.is_symlink():
            raise ValueError(f"{flag} {path} is a symbolic link (to {os.readlink(path)}): links are not followed "
                             f"or replaced; pass the real file as {flag}")
        if path.is_dir():
            raise ValueError(f"{flag} {path} is a directory: pass a file path{' ending in ' + suffix if suffix else ''}"
                             f" as {flag}")
    elif path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path} is a file, not a folder: choose another {flag}")
    target = deliverable()
    if not deliverable_ok and (same_file(path, target) or (folder and real == target.resolve())):
        raise ValueError(f"{flag} {path} is the deliverable {target.name}: only `run` with a final preset "
                         f"(--preset full or gpu) on the real test set writes it; choose another {flag}")
    for name, other in (inputs or {}).items():
        if other is not None and same_file(path, other):
            raise ValueError(f"refusing to overwrite the input {other} ({name}): {flag} {path} names the same "
                             f"file; choose another {flag}")
    root, tracked = project_root().resolve(), [] if tracked_ok else tracked_folders()
    if tracked and (real == root or any(f != root and f in (real, *real.parents) for f in tracked)):
        raise ValueError(f"{flag} {path} is a folder of committed files: the run's figures would replace them; "
                         f"choose a folder outside the checkout or under runs/ as {flag}")
    if not folder and path.exists() and not overwrite:
        raise FileExistsError(f"{flag} {path} exists: pass --overwrite to replace it (a copy is kept), or choose "
                              f"another {flag}")
    parent = _existing_folder(real if folder else real.parent)
    if not parent.is_dir():
        raise ValueError(f"{flag} {path} lies under {parent}, which is a file, not a folder: choose another {flag}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write into {parent} (permission denied or read-only): choose another {flag}")
    return path


def keep_copy(path: Path | str, folder: Path | str | None = None) -> Path | None:
    """Copy an existing ``path`` to ``folder`` before it is replaced (default ``$MRI_PREVIOUS_DIR``, else
    ``runs/previous`` of the project).

    The copy's name carries the time and never replaces an earlier copy.

    Returns:
        the copy, or None when ``path`` does not exist.
    """
    import shutil
    import time

    path = Path(path)
    if not path.is_file():
        return None
    if folder is None:
        folder = os.environ.get("MRI_PREVIOUS_DIR") or project_root() / "runs" / "previous"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    copy, n = folder / f"{path.stem}.{stamp}{path.suffix}", 1
    while copy.exists():
        copy, n = folder / f"{path.stem}.{stamp}-{n}{path.suffix}", n + 1
    shutil.copy2(path, copy)
    return copy
