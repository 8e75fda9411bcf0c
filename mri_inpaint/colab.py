"""The notebook on Google Colab: Drive, the course bundle's set-up, and an honest generator import.

On Colab the notebook's working folder stays ``/content``: the course's set-up cell unpacks
``cw1_files.zip`` there, ``run.sh`` clones InverseLDM beside it, and the template appends the
absolute ``/content/ese-invldm`` to ``sys.path``. Everything that costs time (generated images,
checkpoints, figures, the deliverable) goes to Drive, so a runtime reset loses nothing.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

CONTENT = Path("/content")  # Colab's working folder
MY_DRIVE = CONTENT / "drive" / "MyDrive"  # where drive.mount puts the student's files
BUNDLE_ZIP = MY_DRIVE / "cw1_files.zip"  # the course bundle, uploaded as the course asks
DRIVE_WORK = MY_DRIVE / "mri_inpaint"  # this project's caches, runs, figures and deliverable on Drive
REPACKED = "cw1_files"  # the folder a bundle re-packed on a Mac unpacks to (with __MACOSX/)
SETUP_STAMP = ".cw1_setup_done"  # written after run.sh succeeded, so a rerun skips it


def in_colab() -> bool:
    """True inside a Colab runtime (its ``google.colab`` module is loaded at start)."""
    return "google.colab" in sys.modules


def bundle_unpacked(folder: Path = CONTENT) -> bool:
    """Whether the bundle's ``ese-invldm`` package already lies in ``folder``."""
    return (Path(folder) / "ese-invldm" / "ese_invldm" / "__init__.py").is_file()


def flatten_bundle(folder: Path = CONTENT) -> list[str]:
    """Move a re-packed bundle's ``cw1_files/`` contents up into ``folder``; drop ``__MACOSX/``.

    The course's cell expects ``run.sh``, ``ese-invldm/`` and ``files/`` in the working
    folder; a zip re-packed on a Mac nests them in ``cw1_files/``. Does nothing for the flat
    layout.

    Returns:
        The names moved.
    """
    folder = Path(folder)
    shutil.rmtree(folder / "__MACOSX", ignore_errors=True)
    nested = folder / REPACKED
    if not nested.is_dir():
        return []
    moved = []
    for item in sorted(nested.iterdir()):
        target = folder / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        shutil.move(str(item), str(target))
        moved.append(item.name)
    nested.rmdir()
    return moved


def setup_done(folder: Path = CONTENT) -> bool:
    """Whether ``run.sh`` already ran in this runtime."""
    return (Path(folder) / SETUP_STAMP).is_file()


def mark_setup_done(folder: Path = CONTENT) -> None:
    (Path(folder) / SETUP_STAMP).write_text("run.sh finished\n")


def no_generator(exc: BaseException, *, expected: bool) -> None:
    """Account for a failed ``from ese_invldm import generate``.

    Args:
        exc: the import's exception.
        expected: whether the course bundle was installed (on Drive, downloaded, or set up
            with ``mri-inpaint course-setup``).

    Returns:
        None (for ``generate = no_generator(...)``) after saying that the embedded heads stand in.

    Raises:
        RuntimeError: when the bundle was installed: the real error and what to do. The
            embedded heads stand in only where no bundle exists.
    """
    if expected:
        raise RuntimeError(
            f"the course bundle is installed but `from ese_invldm import generate` failed: "
            f"{type(exc).__name__}: {exc}. Read the output of `bash ./run.sh` above (it installs the "
            "generator's requirements), make sure this runtime's working folder is /content (the course's "
            "sys.path line is absolute), then Runtime > Restart session and run all again. To train on the "
            "embedded heads instead, remove cw1_files.zip from MyDrive.") from exc
    print("no course bundle here (cw1_files.zip is not in MyDrive, and the course's downloads did not run or "
          f"failed: {type(exc).__name__}: {exc}); the repository's embedded real heads stand in for the generator. "
          "To use the course's generator, upload cw1_files.zip to MyDrive and run all again.")
    return None
