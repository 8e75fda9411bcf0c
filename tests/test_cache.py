"""Tests of the resumable chunked image cache (tiny fake source, CPU only)."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from mri_inpaint.cache import ImageCache, chunk_name, chunk_seed
from mri_inpaint.sources.base import minmax_normalise

SEED, COUNT, CHUNK = 7, 10, 4  # chunks of 4, 4 and 2 images


class FakeSource:
    """Deterministic source: Gaussian noise from ``default_rng(seed)``, min-max normalised.

    Records every ``sample`` call as ``(n, seed)``; raises KeyboardInterrupt on call
    number ``interrupt_on`` (1-based) to simulate a kill.
    """

    def __init__(self, name: str = "fake", scale: float = 1.0, interrupt_on: int | None = None):
        self.name = name
        self.scale = scale
        self.interrupt_on = interrupt_on
        self.calls: list[tuple[int, int]] = []

    def params(self) -> dict:
        return {"scale": self.scale}

    def sample(self, n: int, seed: int) -> np.ndarray:
        self.calls.append((n, seed))
        if self.interrupt_on is not None and len(self.calls) == self.interrupt_on:
            raise KeyboardInterrupt
        rng = np.random.default_rng(seed)
        return minmax_normalise(self.scale * rng.normal(size=(n, 1, 64, 64)))


def make_cache(root: Path, source: FakeSource | None = None, **overrides) -> ImageCache:
    source = source or FakeSource()
    kwargs = dict(source_name=source.name, source_params=source.params(), seed=SEED,
                  count=COUNT, chunk_size=CHUNK)
    kwargs.update(overrides)
    return ImageCache(root, **kwargs)


def build(root: Path, source: FakeSource | None = None, **overrides) -> np.ndarray:
    source = source or FakeSource()
    return make_cache(root, source, **overrides).build(source, progress=False)


def snapshot(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


@pytest.fixture
def reference(tmp_path_factory) -> np.ndarray:
    """An uninterrupted build in its own folder."""
    return build(tmp_path_factory.mktemp("reference"))


def test_chunk_seed_is_deterministic_and_distinct():
    assert chunk_seed(7, 3) == chunk_seed(7, 3) == 7 * 1_000_003 + 3
    seeds = {chunk_seed(s, i) for s in range(5) for i in range(100)}
    assert len(seeds) == 500


def test_build_shape_dtype_and_per_chunk_seeds(tmp_path):
    source = FakeSource()
    images = build(tmp_path, source)

    assert images.shape == (COUNT, 1, 64, 64) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    expected_calls = [(4, chunk_seed(SEED, 0)), (4, chunk_seed(SEED, 1)), (2, chunk_seed(SEED, 2))]
    assert source.calls == expected_calls
    expected = np.concatenate([FakeSource().sample(n, s) for n, s in expected_calls])
    np.testing.assert_array_equal(images, expected)

    m = manifest(tmp_path)
    assert (m["source"], m["params"], m["seed"], m["count"], m["chunk_size"]) == (
        "fake", {"scale": 1.0}, SEED, COUNT, CHUNK)
    assert m["format_version"] == 1
    assert [(c["file"], c["n"]) for c in m["chunks"]] == [
        ("chunk_00000.npy", 4), ("chunk_00001.npy", 4), ("chunk_00002.npy", 2)]
    for c in m["chunks"]:
        data = (tmp_path / c["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == c["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chunk_00000.npy", "chunk_00001.npy", "chunk_00002.npy", "manifest.json"]


def test_second_build_reuses_everything(tmp_path, reference):
    first = build(tmp_path)
    before = snapshot(tmp_path)
    source = FakeSource()
    cache = make_cache(tmp_path, source)
    again = cache.build(source, progress=False)

    assert source.calls == []
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(again, reference)
    assert cache.is_complete()
    np.testing.assert_array_equal(cache.load(), reference)
    assert snapshot(tmp_path) == before


def test_resume_after_interrupt_generates_only_missing_chunks(tmp_path, reference):
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path, FakeSource(interrupt_on=3))
    assert [c["file"] for c in manifest(tmp_path)["chunks"]] == ["chunk_00000.npy", "chunk_00001.npy"]
    cache = make_cache(tmp_path)
    assert not cache.is_complete()
    with pytest.raises(ValueError, match="chunk_00002.npy.*build"):
        cache.load()

    source = FakeSource()
    images = make_cache(tmp_path, source).build(source, progress=False)
    assert source.calls == [(2, chunk_seed(SEED, 2))]
    np.testing.assert_array_equal(images, reference)
    assert make_cache(tmp_path).is_complete()


def test_kill_between_chunk_write_and_manifest_update(tmp_path, reference):
    """A chunk file absent from the manifest (and a stale temp file) is regenerated."""
    build(tmp_path)
    m = manifest(tmp_path)
    m["chunks"] = m["chunks"][:1]
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    (tmp_path / ".chunk_00001.npy.abc123.tmp").write_bytes(b"partial")

    source = FakeSource()
    images = build(tmp_path, source)
    assert source.calls == [(4, chunk_seed(SEED, 1)), (2, chunk_seed(SEED, 2))]
    np.testing.assert_array_equal(images, reference)
    assert not list(tmp_path.glob(".*.tmp"))


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-100:-90] = bytes(b ^ 0xFF for b in data[-100:-90])  # in the pixel data: still loads
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a npy file at all")


def _rewrite_with(path: Path, array: np.ndarray) -> None:
    """Replace the chunk and fix its manifest checksum, so only content verification can catch it."""
    np.save(path, array, allow_pickle=False)
    m = manifest(path.parent)
    for c in m["chunks"]:
        if c["file"] == path.name:
            c["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (path.parent / "manifest.json").write_text(json.dumps(m))


def _nan(path: Path) -> None:
    array = np.load(path)
    array[0, 0, 0, 0] = np.nan
    _rewrite_with(path, array)


def _out_of_range(path: Path) -> None:
    _rewrite_with(path, np.load(path) * 2.0 + 0.5)


def _wrong_shape(path: Path) -> None:
    _rewrite_with(path, np.load(path)[:, :, :32, :32].copy())


def _wrong_dtype(path: Path) -> None:
    _rewrite_with(path, np.load(path).astype(np.float64))


@pytest.mark.parametrize("damage, reason", [
    (_flip_bytes, "checksum"),
    (_truncate, "checksum"),
    (Path.unlink, "cannot be read"),
    (_garbage, "checksum"),
    (_nan, "non-finite"),
    (_out_of_range, "outside"),
    (_wrong_shape, "shape"),
    (_wrong_dtype, "dtype"),
], ids=["flipped", "truncated", "deleted", "garbage", "nan", "out_of_range", "shape", "dtype"])
def test_damaged_chunk_is_detected_and_regenerated(tmp_path, reference, caplog, damage, reason):
    build(tmp_path)
    damage(tmp_path / chunk_name(1))
    cache = make_cache(tmp_path)
    assert not cache.is_complete()
    with pytest.raises(ValueError, match=reason):
        cache.load()

    source = FakeSource()
    with caplog.at_level(logging.WARNING, logger="mri_inpaint.cache"):
        images = make_cache(tmp_path, source).build(source, progress=False)
    assert source.calls == [(4, chunk_seed(SEED, 1))]
    np.testing.assert_array_equal(images, reference)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "chunk_00001.npy" in warnings[0] and reason in warnings[0]
    np.testing.assert_array_equal(make_cache(tmp_path).load(), reference)


@pytest.mark.parametrize("source_kwargs, overrides, match", [
    ({"name": "other"}, {}, r"source is 'fake' there, 'other' requested"),
    ({"scale": 2.0}, {}, r"params is \{'scale': 1.0\} there, \{'scale': 2.0\} requested"),
    ({}, {"seed": SEED + 1}, r"seed is 7 there, 8 requested"),
    ({}, {"chunk_size": 5}, r"chunk_size is 4 there, 5 requested"),
    ({}, {"count": 6}, r"count is 10 there, 6 requested"),
], ids=["name", "params", "seed", "chunk_size", "smaller_count"])
def test_mismatched_settings_raise_and_leave_files_untouched(tmp_path, source_kwargs, overrides, match):
    build(tmp_path)
    before = snapshot(tmp_path)
    source = FakeSource(**source_kwargs)
    cache = make_cache(tmp_path, source, **overrides)

    with pytest.raises(ValueError, match=match) as info:
        cache.build(source, progress=False)
    assert "another cache folder" in str(info.value) and "overwrite=True" not in str(info.value)  # flags, not Python
    assert "--data-dir" in str(info.value) and "--overwrite" not in str(info.value)  # `run` has no --overwrite
    with pytest.raises(ValueError, match=match):
        cache.load()
    assert not cache.is_complete()
    assert source.calls == []
    assert snapshot(tmp_path) == before


def test_unreadable_manifest_raises_then_overwrite_rebuilds(tmp_path, reference):
    build(tmp_path)
    (tmp_path / "manifest.json").write_text("{ not json")
    with pytest.raises(ValueError, match="unreadable.*--data-dir"):
        build(tmp_path)
    np.testing.assert_array_equal(build(tmp_path, overwrite=True), reference)


def test_overwrite_regenerates_with_new_settings(tmp_path, tmp_path_factory):
    build(tmp_path, count=13)  # more chunks than the new cache: stale ones must go
    source = FakeSource()
    images = make_cache(tmp_path, source, seed=SEED + 1, overwrite=True).build(source, progress=False)

    new_seed = SEED + 1
    assert source.calls == [(4, chunk_seed(new_seed, 0)), (4, chunk_seed(new_seed, 1)),
                            (2, chunk_seed(new_seed, 2))]
    np.testing.assert_array_equal(images, build(tmp_path_factory.mktemp("fresh"), seed=new_seed))
    assert manifest(tmp_path)["seed"] == new_seed
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chunk_00000.npy", "chunk_00001.npy", "chunk_00002.npy", "manifest.json"]


def test_overwrite_keeps_a_matching_cache(tmp_path):
    build(tmp_path)
    source = FakeSource()
    make_cache(tmp_path, source, overwrite=True).build(source, progress=False)
    assert source.calls == []


def test_larger_count_extends_and_reuses_old_chunks(tmp_path, tmp_path_factory):
    build(tmp_path, count=8)  # two full chunks
    source = FakeSource()
    images = make_cache(tmp_path, source, count=COUNT).build(source, progress=False)
    assert source.calls == [(2, chunk_seed(SEED, 2))]
    np.testing.assert_array_equal(images, build(tmp_path_factory.mktemp("fresh10")))

    # A partial last chunk (2 of 4 images) is regenerated at its new length.
    source = FakeSource()
    images = make_cache(tmp_path, source, count=13).build(source, progress=False)
    assert source.calls == [(4, chunk_seed(SEED, 2)), (1, chunk_seed(SEED, 3))]
    np.testing.assert_array_equal(images, build(tmp_path_factory.mktemp("fresh13"), count=13))
    assert manifest(tmp_path)["count"] == 13


def test_source_must_match_cache_settings(tmp_path):
    cache = make_cache(tmp_path)
    with pytest.raises(ValueError, match="does not match the cache's settings"):
        cache.build(FakeSource(scale=3.0), progress=False)
    assert not tmp_path.joinpath("manifest.json").exists()


def test_bad_source_output_is_not_cached(tmp_path):
    class Bad(FakeSource):
        def sample(self, n, seed):
            return super().sample(n, seed) * 5.0

    source = Bad()
    with pytest.raises(ValueError, match="outside"):
        make_cache(tmp_path, source).build(source, progress=False)
    assert manifest(tmp_path)["chunks"] == []
    assert not list(tmp_path.glob("chunk_*.npy"))


def test_load_without_cache_and_describe(tmp_path):
    cache = make_cache(tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="build"):
        cache.load()
    assert not cache.is_complete()
    assert cache.describe() == {"source": "fake", "params": {"scale": 1.0}, "seed": SEED,
                                "count": COUNT, "chunk_size": CHUNK, "path": str(tmp_path / "none")}
