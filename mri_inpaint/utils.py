"""Seeds, devices and atomic file writes, handled once for the whole package."""
from __future__ import annotations

import errno
import glob
import os
import re
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (call at entry points only)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(device: str = "auto") -> torch.device:
    """Return CUDA when available and ``device == "auto"``, else the device asked for.

    Raises:
        ValueError: the name is not ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, or CUDA is
            requested but not available.
    """
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", str(device)):
        raise ValueError(f"unknown device {device!r}: use --device auto, cpu or cuda (or cuda:N)")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available; use --device cpu or auto")
    return torch.device(device)


def _alive(pid: int) -> bool:
    """True when a process ``pid`` exists (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: A temporary file without a writer's process id is stale after this many seconds.
STALE_TMP_SECONDS = 600


def remove_stale_temporaries(path: Path | str) -> list[Path]:
    """Delete the temporary files a killed :func:`atomic_write` of ``path`` left beside it.

    Each temporary file carries its writer's process id, so one whose writer still runs
    (a concurrent writer) is kept; one without an id is removed once it is old.

    Returns:
        the files removed.
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        match = re.fullmatch(rf"\.{re.escape(path.name)}\.pid(\d+)\..*\.tmp", tmp.name)
        try:
            stale = (not _alive(int(match.group(1))) if match
                     else time.time() - tmp.stat().st_mtime > STALE_TMP_SECONDS)
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it onto ``path``.

    A crash part-way leaves the old file (if any) untouched; the temporary file a killed
    process leaves is removed by the next write of ``path``. A full disk is reported as
    :class:`OSError` ENOSPC naming ``path``, whatever the writer raised.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.pid{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            write(tmp)
        except Exception as exc:
            if _disk_full(exc, path.parent):
                raise OSError(errno.ENOSPC, "No space left on device (disk full)", str(path)) from exc
            raise
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether ``exc`` (numpy's short write, torch's "enforce fail", errno 28) came from a full disk."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    if not isinstance(exc, (OSError, RuntimeError)):
        return False
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False
