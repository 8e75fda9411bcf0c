"""A resumable, chunked on-disk cache of training images.

Layout under ``root``::

    manifest.json      settings (source, params, seed, count, chunk_size, format_version)
                       and one entry per finished chunk: file, n, sha256
    chunk_00000.npy    float32 (k, 1, 64, 64); k = chunk_size, except perhaps the last
    chunk_00001.npy
    ...

Chunk ``i`` holds ``source.sample(k, seed=chunk_seed(seed, i))``, so the images depend
only on (source, params, seed, count, chunk_size), never on how often a build was
interrupted. Each chunk is written atomically and the manifest is rewritten atomically
after each chunk, so killing a build at any moment leaves a state the next build resumes
from. A chunk is used only if its file matches the manifest's checksum and holds finite
float32 values in [0, 1] of the expected shape; otherwise it is regenerated. One builder
per folder at a time.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from mri_inpaint.sources.base import IMAGE_SIZE, ImageSource
from mri_inpaint.utils import atomic_write

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
_SEED_STRIDE = 1_000_003

logger = logging.getLogger(__name__)


def chunk_seed(seed: int, index: int) -> int:
    """Seed of chunk ``index`` in a cache built with ``seed``: ``seed * 1_000_003 + index``."""
    return int(seed) * _SEED_STRIDE + int(index)


def chunk_name(index: int) -> str:
    """File name of chunk ``index``, e.g. ``chunk_00003.npy``."""
    return f"chunk_{index:05d}.npy"


def _normalise_params(params: dict) -> dict:
    """Return ``params`` as it reads back from JSON (tuples become lists, ...)."""
    try:
        return json.loads(json.dumps(params, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"source params must be JSON-serialisable: {exc}") from None


def _check_images(images: object, n: int) -> str | None:
    """Return what is wrong with ``images`` as a chunk of ``n`` images, or None if fine."""
    shape = (n, 1, IMAGE_SIZE, IMAGE_SIZE)
    if not isinstance(images, np.ndarray):
        return f"is a {type(images).__name__}, not a numpy array"
    if images.shape != shape:
        return f"has shape {images.shape}, expected {shape}"
    if images.dtype != np.float32:
        return f"has dtype {images.dtype}, expected float32"
    if not np.isfinite(images).all():
        return "holds non-finite values"
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        return f"has values in [{images.min():.4g}, {images.max():.4g}], outside [0, 1]"
    return None


def cached_count(root: Path | str) -> int:
    """The image count the cache at ``root`` was built for (0: none there, or unreadable)."""
    try:
        return int(json.loads((Path(root) / MANIFEST_NAME).read_text()).get("count", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


class ImageCache:
    """Chunked, checksummed cache of ``count`` images from one source, seed and chunk size.

    Args:
        root: folder holding ``manifest.json`` and the chunk files (created if needed).
        source_name: ``ImageSource.name`` of the source the images come from.
        source_params: ``ImageSource.params()`` of that source (JSON-serialisable).
        seed: base seed; chunk ``i`` uses ``chunk_seed(seed, i)``.
        count: number of images wanted. A larger count than the cached one extends it.
        chunk_size: images per chunk file.
        overwrite: if the folder holds a cache with other settings (source, params, seed,
            chunk_size, a larger count) or an unreadable manifest, delete its chunks and
            regenerate instead of raising ``ValueError``. A matching cache is reused.
    """

    def __init__(self, root: Path | str, *, source_name: str, source_params: dict, seed: int,
                 count: int, chunk_size: int = 1000, overwrite: bool = False) -> None:
        if count < 1:
            raise ValueError(f"the number of images must be >= 1, got {count} (--n, --num-images, --eval-images)")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.root = Path(root)
        self.source_name = str(source_name)
        self.source_params = _normalise_params(source_params)
        self.seed = int(seed)
        self.count = int(count)
        self.chunk_size = int(chunk_size)
        self.overwrite = bool(overwrite)

    # ----------------------------------------------------------------- layout
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def n_chunks(self) -> int:
        """Number of chunk files for ``count`` images."""
        return -(-self.count // self.chunk_size)

    def chunk_len(self, index: int) -> int:
        """Number of images in chunk ``index``."""
        return min(self.chunk_size, self.count - index * self.chunk_size)

    def describe(self) -> dict:
        """Short summary for display: source, params, seed, count, chunk_size, path."""
        return {"source": self.source_name, "params": self.source_params, "seed": self.seed,
                "count": self.count, "chunk_size": self.chunk_size, "path": str(self.root)}

    # ----------------------------------------------------------------- public
    def build(self, source: ImageSource, progress: bool = True,
              report: Callable[[str], None] | None = None) -> np.ndarray:
        """Generate the missing or invalid chunks and return all images.

        Args:
            source: the image source; its ``name`` and ``params()`` must match the cache's.
            progress: show a tqdm bar over chunks.
            report: called with one line for each chunk generated (e.g. ``print`` in a notebook).

        Returns:
            float32 array ``(count, 1, 64, 64)`` with values in [0, 1].

        Raises:
            ValueError: if the source does not match the cache's settings, or the folder
                holds a cache with other settings and ``overwrite`` is False.
        """
        self._check_source(source)
        entries = self._prepare()
        out = np.empty((self.count, 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        reused = generated = 0
        with tqdm(range(self.n_chunks), desc=f"image cache {self.root.name}", unit="chunk",
                  disable=not progress) as bar:
            for i in bar:
                images, problem = self._read_chunk(i, entries.get(i))
                if images is None:
                    self._log_regeneration(i, entries.get(i), problem)
                    if i in entries:  # forget the stale entry before its file is replaced
                        del entries[i]
                        self._write_manifest(entries)
                    t0 = time.perf_counter()
                    images = self._generate(source, i)
                    entries[i] = self._write_chunk(i, images)
                    self._write_manifest(entries)
                    generated += 1
                    if report is not None:
                        report(f"{self.root.name}: chunk {i + 1}/{self.n_chunks} generated ({len(images)} images "
                               f"in {time.perf_counter() - t0:.0f} s)")
                else:
                    reused += 1
                start = i * self.chunk_size
                out[start:start + len(images)] = images
                bar.set_postfix(reused=reused, generated=generated)
        return out

    def load(self) -> np.ndarray:
        """Return all images of a complete, valid cache without generating anything.

        Returns:
            float32 array ``(count, 1, 64, 64)``.

        Raises:
            FileNotFoundError: if there is no manifest.
            ValueError: if the settings differ, or a chunk is missing or invalid
                (``build`` regenerates it).
        """
        entries = self._read_valid_manifest(building=False)
        out = np.empty((self.count, 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        for i in range(self.n_chunks):
            images, problem = self._read_chunk(i, entries.get(i))
            if images is None:
                raise ValueError(f"image cache at {self.root}: {chunk_name(i)} {problem}; "
                                 "run build() to regenerate it")
            start = i * self.chunk_size
            out[start:start + len(images)] = images
        return out

    def is_complete(self) -> bool:
        """True if ``load()`` would succeed (reads and verifies every chunk)."""
        try:
            entries = self._read_valid_manifest(building=False)
        except (FileNotFoundError, ValueError):
            return False
        return all(self._read_chunk(i, entries.get(i))[0] is not None
                   for i in range(self.n_chunks))

    # ----------------------------------------------------------------- manifest
    def _check_source(self, source: ImageSource) -> None:
        name, params = source.name, _normalise_params(source.params())
        if name != self.source_name or params != self.source_params:
            raise ValueError(
                f"source {name!r} with params {params} does not match the cache's settings "
                f"(source {self.source_name!r}, params {self.source_params}); "
                "build the cache with the source it was configured for")

    def _prepare(self) -> dict[int, dict]:
        """Validate or (with overwrite) wipe an existing cache; record the settings."""
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".chunk_*.npy.*.tmp"):  # left by a killed write
            stale.unlink(missing_ok=True)
        entries = self._read_valid_manifest(building=True)
        self._write_manifest(entries)  # records a larger count before any chunk is written
        return entries

    def _read_valid_manifest(self, *, building: bool) -> dict[int, dict]:
        """Return the manifest's chunk entries by index, after verifying the settings.

        Args:
            building: True from ``build``: a missing manifest gives ``{}`` and, with
                ``overwrite``, a mismatching cache is wiped. False from ``load``: both raise.

        Returns:
            ``{chunk index: {"index", "file", "n", "sha256"}}``.
        """
        if not self.manifest_path.exists():
            if building:
                return {}
            raise FileNotFoundError(f"no image cache at {self.root} (missing {MANIFEST_NAME}); "
                                    "run build() first")
        try:
            manifest = json.loads(self.manifest_path.read_text())
            entries = {int(e["index"]): e for e in manifest["chunks"]}
            problems = self._differences(manifest)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems = [f"its {MANIFEST_NAME} is unreadable ({type(exc).__name__}: {exc})"]
        if not problems:
            return entries
        what = "; ".join(problems)
        if not (building and self.overwrite):
            raise ValueError(
                f"the image cache at {self.root} does not match the settings asked for: {what}. "
                f"Nothing was changed. Delete {self.root} to rebuild it, or choose another cache folder "
                "(--data-dir).")
        logger.warning("image cache at %s: %s; overwrite=True, deleting its chunks", self.root, what)
        self._wipe()
        return {}

    def _differences(self, manifest: dict) -> list[str]:
        """What differs between ``manifest`` and the settings asked for (empty if none)."""
        if manifest.get("format_version") != FORMAT_VERSION:
            return [f"format_version {manifest.get('format_version')!r}, expected {FORMAT_VERSION}"]
        problems = []
        for key, want in (("source", self.source_name), ("params", self.source_params),
                          ("seed", self.seed), ("chunk_size", self.chunk_size)):
            have = manifest.get(key)
            if have != want:
                problems.append(f"{key} is {have!r} there, {want!r} requested")
        if manifest.get("count", 0) > self.count:
            problems.append(f"count is {manifest['count']} there, {self.count} requested "
                            "(a cache is extended, never shrunk)")
        return problems

    def _write_manifest(self, entries: dict[int, dict]) -> None:
        manifest = {
            "format_version": FORMAT_VERSION, "source": self.source_name,
            "params": self.source_params, "seed": self.seed, "count": self.count,
            "chunk_size": self.chunk_size,
            "chunks": [{"index": i, **{k: v for k, v in entries[i].items() if k != "index"}}
                       for i in sorted(entries)],
        }
        text = json.dumps(manifest, indent=2) + "\n"
        atomic_write(self.manifest_path, lambda tmp: tmp.write_text(text))

    def _wipe(self) -> None:
        """Delete this cache's own files (manifest and chunk files) and nothing else."""
        for path in self.root.glob("chunk_[0-9]*.npy"):
            path.unlink(missing_ok=True)
        self.manifest_path.unlink(missing_ok=True)

    # ----------------------------------------------------------------- chunks
    def _read_chunk(self, index: int, entry: dict | None) -> tuple[np.ndarray | None, str]:
        """Return ``(images, "")`` for a valid chunk, else ``(None, what is wrong)``."""
        name, n = chunk_name(index), self.chunk_len(index)
        path = self.root / name
        if entry is None:
            return None, "is not in the manifest" + (" (unfinished write)" if path.exists() else "")
        if entry.get("file") != name or entry.get("n") != n:
            return None, f"holds {entry.get('n')} images, {n} needed"
        try:
            data = path.read_bytes()
        except OSError as exc:
            return None, f"cannot be read ({type(exc).__name__}: {exc})"
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            return None, "fails its sha256 checksum (corrupted or truncated)"
        try:
            images = np.load(io.BytesIO(data), allow_pickle=False)
        except Exception as exc:  # any unreadable file is regenerated, never used
            return None, f"cannot be loaded ({type(exc).__name__}: {exc})"
        problem = _check_images(images, n)
        return (None, problem) if problem else (images, "")

    def _log_regeneration(self, index: int, entry: dict | None, problem: str) -> None:
        """Log why chunk ``index`` is (re)generated: a damaged chunk is a warning."""
        if entry is None and not (self.root / chunk_name(index)).exists():
            level = logging.DEBUG  # simply not generated yet
        elif entry is None or entry.get("n") != self.chunk_len(index):
            level = logging.INFO  # unfinished write, or last chunk of a cache being extended
        else:
            level = logging.WARNING
        logger.log(level, "image cache %s: %s %s; regenerating it", self.root, chunk_name(index), problem)

    def _generate(self, source: ImageSource, index: int) -> np.ndarray:
        n = self.chunk_len(index)
        images = source.sample(n, seed=chunk_seed(self.seed, index))
        problem = _check_images(images, n)
        if problem:
            raise ValueError(f"source {self.source_name!r} returned a chunk that {problem}")
        return images

    def _write_chunk(self, index: int, images: np.ndarray) -> dict:
        """Write chunk ``index`` atomically and return its manifest entry."""
        buffer = io.BytesIO()
        np.save(buffer, images, allow_pickle=False)
        data = buffer.getvalue()
        atomic_write(self.root / chunk_name(index), lambda tmp: tmp.write_bytes(data))
        return {"index": index, "file": chunk_name(index), "n": len(images),
                "sha256": hashlib.sha256(data).hexdigest()}
