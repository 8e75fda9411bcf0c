"""Install the coursework bundle (``cw1_files.zip``) that provides ``ese_invldm``.

The bundle unpacks to a folder holding the ``ese-invldm`` package directory (with
``ese_invldm/__init__.py``) and a ``run.sh`` that installs its requirements. Outside
Colab, :func:`install_bundle` only unpacks it and makes ``ese_invldm`` importable; the
package's Python requirements must be installed per the course instructions.
Without the bundle, the embedded anatomy source (``--source anatomy``) is used.
"""
from __future__ import annotations

import importlib
import os
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import requests
from tqdm import tqdm

from .sources.course import course_generator_available
from .utils import atomic_write

DEFAULT_TARGET = Path("data/course")
#: File holding the folder to put on ``sys.path`` (written by :func:`install_bundle`).
MARKER = "ESE_INVLDM_PATH"
PACKAGE_INIT = "ese_invldm/__init__.py"
RUN_SCRIPT = "run.sh"
CHUNK = 1 << 20


def download(url: str, dest: Path, *, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download.

    Data goes to ``dest`` + ``.part``; when that exists a ``Range`` request continues it
    (appending on HTTP 206, restarting on 200). The result must be a valid zip archive.

    Args:
        url: http(s) address of the file.
        dest: final path of the file.
        progress: show a tqdm progress bar.

    Returns:
        ``dest``.

    Raises:
        RuntimeError: on a network or HTTP error (naming status code and url).
        ValueError: if the download is not a valid zip (the bad file is deleted).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(dest.suffix + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=(10, 60)) as resp:
            if resp.status_code == 416 and offset:  # .part already holds the whole file
                pass
            elif resp.status_code >= 400:
                raise RuntimeError(f"download failed: HTTP {resp.status_code} for {url}")
            else:
                if resp.status_code != 206:
                    offset = 0  # server ignored the range: start over
                total = resp.headers.get("Content-Length")
                total = int(total) + offset if total is not None else None
                with open(part, "ab" if offset else "wb") as fh, tqdm(
                        total=total, initial=offset, unit="B", unit_scale=True,
                        desc=dest.name, disable=not progress) as bar:
                    for chunk in resp.iter_content(CHUNK):
                        fh.write(chunk)
                        bar.update(len(chunk))
    except requests.RequestException as exc:
        raise RuntimeError(f"download failed for {url}: {exc}") from exc
    if not _is_valid_zip(part):
        part.unlink()
        raise ValueError(f"the download from {url} is not a valid zip archive; deleted {part}")
    os.replace(part, dest)
    return dest


def _is_valid_zip(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError):
        return False


def safe_unpack(zip_path: str | Path, target: Path) -> Path:
    """Unpack a zip archive into ``target``, refusing entries that would escape it.

    Args:
        zip_path: the archive.
        target: destination folder (created if needed).

    Returns:
        ``target``.

    Raises:
        ValueError: naming the first entry that is absolute, climbs out with ``..``
            or is a symbolic link; nothing is extracted in that case.
    """
    target = Path(target)
    root = target.resolve()
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"unsafe zip entry {name!r} in {zip_path}: symbolic links are refused")
            pure = PurePosixPath(name.replace("\\", "/"))
            drive = bool(pure.parts) and ":" in pure.parts[0]  # e.g. "C:/..."
            if (pure.is_absolute() or drive or ".." in pure.parts
                    or not (root / pure).resolve().is_relative_to(root)):
                raise ValueError(f"unsafe zip entry {name!r} in {zip_path}: it would land outside {target}")
        target.mkdir(parents=True, exist_ok=True)
        zf.extractall(target)
    return target


def _locate(root: Path) -> dict[str, Path]:
    """Find the bundle's expected files under ``root``.

    Returns:
        ``{"ese_invldm/__init__.py": package folder, "run.sh": script path}``.

    Raises:
        FileNotFoundError: listing what is missing and what was found.
    """
    inits = sorted(root.rglob(PACKAGE_INIT), key=lambda p: (len(p.parts), str(p)))
    # Prefer the course's ``ese-invldm/`` directory when several copies exist.
    inits.sort(key=lambda p: p.parent.parent.name != "ese-invldm")
    scripts = sorted(root.rglob(RUN_SCRIPT), key=lambda p: (len(p.parts), str(p)))
    found = {PACKAGE_INIT: inits[0].parent.parent if inits else None,
             RUN_SCRIPT: scripts[0] if scripts else None}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        shown = ", ".join(files[:20]) + (f", ... ({len(files)} files)" if len(files) > 20 else "")
        raise FileNotFoundError(f"course bundle in {root} is missing {', '.join(missing)}; "
                                f"found: {shown or 'nothing'}")
    return found


def _add_to_path(folder: Path) -> None:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()


def install_bundle(bundle: str | Path, target: Path = DEFAULT_TARGET) -> Path:
    """Unpack the course bundle and make ``ese_invldm`` importable.

    ``run.sh`` is not run here: install the package's Python requirements per the
    course instructions.

    Args:
        bundle: path or http(s) URL of ``cw1_files.zip`` (a URL is downloaded into
            ``target``'s parent first), or an already unpacked folder.
        target: folder to unpack into; the marker file ``ESE_INVLDM_PATH`` is written
            there for :func:`ensure_course_importable`.

    Returns:
        The folder containing the ``ese_invldm`` package (now on ``sys.path``).

    Raises:
        FileNotFoundError: if the bundle or any expected file in it is missing.
        ValueError: if the archive is invalid or has unsafe entries.
        RuntimeError: if a download fails.
    """
    target = Path(target)
    text = str(bundle)
    if text.startswith(("http://", "https://")):
        name = PurePosixPath(urlparse(text).path).name or "cw1_files.zip"
        bundle = download(text, target.parent / name)
    bundle = Path(bundle)
    if bundle.is_dir():
        root = bundle
    elif bundle.is_file():
        root = safe_unpack(bundle, target)
    else:
        raise FileNotFoundError(f"course bundle {bundle} does not exist")
    folder = _locate(root)[PACKAGE_INIT].resolve()
    _add_to_path(folder)
    atomic_write(target / MARKER, lambda tmp: tmp.write_text(str(folder) + "\n"))
    return folder


def ensure_course_importable(target: Path = DEFAULT_TARGET) -> bool:
    """Put the folder recorded by :func:`install_bundle` back on ``sys.path``.

    Args:
        target: the folder given to :func:`install_bundle`.

    Returns:
        Whether ``ese_invldm`` is importable now.
    """
    marker = Path(target) / MARKER
    if marker.is_file():
        folder = Path(marker.read_text().strip())
        if folder.is_dir():
            _add_to_path(folder)
    return course_generator_available()
