"""Course-generator source and bundle installer, tested with stand-ins (no real bundle, no internet)."""
from __future__ import annotations

import functools
import importlib
import stat
import sys
import threading
import types
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from mri_inpaint.course_setup import (MARKER, download, ensure_course_importable,
                                      install_bundle, safe_unpack)
from mri_inpaint.sources.course import CourseSource, as_image_batch, course_generator_available

# A stand-in for the course's ``ese_invldm`` package: records its calls and returns
# batches in [-1, 3] of the requested sizes.
FAKE_GENERATOR = '''
import torch

CALLS = []


def generate(num_samples, num_inference_steps, batch_size, scheduler="ddim",
             temperature=1.0, seed=42):
    CALLS.append(dict(num_samples=num_samples, num_inference_steps=num_inference_steps,
                      batch_size=batch_size, scheduler=scheduler,
                      temperature=temperature, seed=seed))
    gen = torch.Generator().manual_seed(seed)
    sizes = [min(batch_size, num_samples - i) for i in range(0, num_samples, batch_size)]
    return [torch.rand(b, 1, 64, 64, generator=gen) * 4 - 1 for b in sizes]
'''


def _forget_generator() -> None:
    sys.modules.pop("ese_invldm", None)
    importlib.invalidate_caches()


@pytest.fixture
def isolated(monkeypatch):
    """Restore ``sys.path`` and forget any imported ``ese_invldm`` after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    _forget_generator()
    yield monkeypatch
    _forget_generator()


@pytest.fixture
def fake_generator(tmp_path, isolated):
    pkg = tmp_path / "site" / "ese_invldm"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_GENERATOR)
    isolated.syspath_prepend(str(tmp_path / "site"))
    import ese_invldm
    return ese_invldm


def _stub_generator(monkeypatch, generate) -> None:
    module = types.ModuleType("ese_invldm")
    module.generate = generate
    monkeypatch.setitem(sys.modules, "ese_invldm", module)


# --- CourseSource ---------------------------------------------------------------

def test_sample_passes_settings_and_normalises(fake_generator):
    source = CourseSource(num_inference_steps=7, scheduler="ddpm", temperature=0.5, batch_size=4)
    assert source.name == "course"
    assert source.params() == {"num_inference_steps": 7, "scheduler": "ddpm",
                               "temperature": 0.5, "batch_size": 4}
    images = source.sample(10, seed=3)
    assert fake_generator.CALLS == [dict(num_samples=10, num_inference_steps=7, batch_size=4,
                                         scheduler="ddpm", temperature=0.5, seed=3)]
    assert images.shape == (10, 1, 64, 64) and images.dtype == np.float32
    np.testing.assert_allclose(images.min(axis=(1, 2, 3)), 0.0)
    np.testing.assert_allclose(images.max(axis=(1, 2, 3)), 1.0)
    np.testing.assert_array_equal(images, source.sample(10, seed=3))
    assert not np.array_equal(images, source.sample(10, seed=4))


def test_defaults(fake_generator):
    CourseSource().sample(3, seed=0)
    assert fake_generator.CALLS == [dict(num_samples=3, num_inference_steps=50, batch_size=64,
                                         scheduler="ddim", temperature=1.0, seed=0)]


@pytest.mark.parametrize("kwargs, word", [
    ({"scheduler": "euler"}, "scheduler"),
    ({"num_inference_steps": 0}, "num_inference_steps"),
    ({"num_inference_steps": 2.5}, "num_inference_steps"),
    ({"temperature": 0.0}, "temperature"),
    ({"temperature": -1.0}, "temperature"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        CourseSource(**kwargs)


def test_bad_n(fake_generator):
    with pytest.raises(ValueError, match="n=0"):
        CourseSource().sample(0, seed=0)


def test_helpful_error_without_bundle(isolated):
    isolated.setitem(sys.modules, "ese_invldm", None)  # makes the import fail
    assert not course_generator_available()
    with pytest.raises(ImportError) as info:
        CourseSource().sample(2, seed=0)
    message = str(info.value)
    assert "course-setup --bundle" in message and "--source anatomy" in message
    assert "Colab" in message


def test_error_when_requirements_missing(tmp_path, isolated):
    pkg = tmp_path / "site" / "ese_invldm"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("import a_requirement_that_is_not_installed\n")
    isolated.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ImportError, match="requirements") as info:
        CourseSource().sample(2, seed=0)
    assert "a_requirement_that_is_not_installed" in str(info.value)


def test_available_with_generator(fake_generator):
    assert course_generator_available()


def test_accepts_three_dimensional_output(isolated):
    _stub_generator(isolated, lambda num_samples, **_: [torch.rand(num_samples, 64, 64) * 5])
    images = CourseSource().sample(2, seed=0)
    assert images.shape == (2, 1, 64, 64)


@pytest.mark.parametrize("batch, error", [
    (torch.rand(2, 1, 32, 32), "shape"),
    (torch.full((2, 1, 64, 64), float("nan")), "non-finite"),
])
def test_rejects_bad_output(isolated, batch, error):
    _stub_generator(isolated, lambda **_: [batch])
    with pytest.raises(RuntimeError, match=error):
        CourseSource().sample(2, seed=0)


@pytest.mark.parametrize("samples", [
    [torch.rand(3, 1, 64, 64) * 4 - 2, torch.rand(2, 1, 64, 64)],  # a list of batches, any range
    torch.rand(5, 64, 64) * 255,  # one tensor without the channel axis
    np.random.default_rng(0).normal(size=(5, 1, 64, 64)),  # a numpy array
])
def test_as_image_batch_accepts_what_generate_may_return(samples):
    images = as_image_batch(samples)
    assert images.shape == (5, 1, 64, 64) and images.dtype == np.float32
    assert np.allclose(images.min(axis=(1, 2, 3)), 0) and np.allclose(images.max(axis=(1, 2, 3)), 1)


@pytest.mark.parametrize("samples, error", [
    ([], "no images"),
    (torch.rand(4, 3, 64, 64), "shape"),
    ([torch.rand(2, 64, 64), torch.rand(2, 64)], "shape"),
    (torch.full((2, 64, 64), float("inf")), "non-finite"),
])
def test_as_image_batch_says_what_was_wrong(samples, error):
    with pytest.raises(RuntimeError, match=error):
        as_image_batch(samples)


# --- bundle server --------------------------------------------------------------

class RangeHandler(SimpleHTTPRequestHandler):
    """Static files plus ``Range: bytes=N-`` (unless ``server.honour_range`` is False)."""

    def do_GET(self):
        self.server.ranges.append(self.headers.get("Range"))
        spec = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not (spec.startswith("bytes=") and self.server.honour_range and path.is_file()):
            return super().do_GET()
        data = path.read_bytes()
        start = int(spec[len("bytes="):].rstrip("-"))
        if start >= len(data):
            self.send_error(416)
            return None
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])
        return None

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(RangeHandler, directory=str(root)))
    httpd.root, httpd.ranges, httpd.honour_range = root, [], True
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def make_bundle(path: Path, *, with_package: bool = True) -> bytes:
    """Write a fake ``cw1_files.zip`` to ``path`` and return its bytes."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("cw1_files/run.sh", "pip install -r ese-invldm/requirements.txt\n")
        zf.writestr("cw1_files/ese-invldm/requirements.txt", "torch\n")
        if with_package:
            zf.writestr("cw1_files/ese-invldm/ese_invldm/__init__.py", FAKE_GENERATOR)
        # Incompressible padding so that a half-file resume is meaningful.
        zf.writestr("cw1_files/ese-invldm/weights.bin", np.random.default_rng(0).bytes(50_000))
    return path.read_bytes()


def test_install_bundle_from_url(server, tmp_path, isolated):
    make_bundle(server.root / "cw1_files.zip")
    target = tmp_path / "data" / "course"
    folder = install_bundle(f"{server.url}/cw1_files.zip", target)
    assert (tmp_path / "data" / "cw1_files.zip").is_file()
    assert folder.name == "ese-invldm" and (folder / "ese_invldm" / "__init__.py").is_file()
    assert (target / MARKER).read_text().strip() == str(folder)
    import ese_invldm
    batches = ese_invldm.generate(num_samples=3, num_inference_steps=2, batch_size=2)
    assert [b.shape[0] for b in batches] == [2, 1]
    assert CourseSource(batch_size=2).sample(3, seed=1).shape == (3, 1, 64, 64)

    # A fresh process only has the marker: ensure_course_importable restores the path.
    sys.path.remove(str(folder))
    _forget_generator()
    assert not course_generator_available()
    assert not ensure_course_importable(tmp_path / "elsewhere")  # no marker there
    assert ensure_course_importable(target)
    assert str(folder) in sys.path
    import ese_invldm  # noqa: F811
    assert callable(ese_invldm.generate)


def test_install_bundle_from_local_zip(tmp_path, isolated):
    make_bundle(tmp_path / "cw1_files.zip")
    folder = install_bundle(tmp_path / "cw1_files.zip", tmp_path / "course")
    assert folder == (tmp_path / "course" / "cw1_files" / "ese-invldm").resolve()
    assert course_generator_available()


def test_download_404(server, tmp_path):
    url = f"{server.url}/missing.zip"
    with pytest.raises(RuntimeError, match="404") as info:
        download(url, tmp_path / "missing.zip", progress=False)
    assert url in str(info.value)
    assert not (tmp_path / "missing.zip").exists()


def test_download_rejects_non_zip(server, tmp_path):
    (server.root / "fake.zip").write_text("<html>not a zip</html>")
    dest = tmp_path / "fake.zip"
    with pytest.raises(ValueError, match="not a valid zip") as info:
        download(f"{server.url}/fake.zip", dest, progress=False)
    assert "deleted" in str(info.value)
    assert not dest.exists() and not (tmp_path / "fake.zip.part").exists()


def test_download_resumes(server, tmp_path):
    data = make_bundle(server.root / "cw1_files.zip")
    dest = tmp_path / "cw1_files.zip"
    (tmp_path / "cw1_files.zip.part").write_bytes(data[: len(data) // 2])
    download(f"{server.url}/cw1_files.zip", dest, progress=False)
    assert server.ranges == [f"bytes={len(data) // 2}-"]
    assert dest.read_bytes() == data
    assert not (tmp_path / "cw1_files.zip.part").exists()


def test_download_restarts_when_range_ignored(server, tmp_path):
    data = make_bundle(server.root / "cw1_files.zip")
    server.honour_range = False
    dest = tmp_path / "cw1_files.zip"
    (tmp_path / "cw1_files.zip.part").write_bytes(b"stale bytes")
    download(f"{server.url}/cw1_files.zip", dest, progress=False)
    assert server.ranges == ["bytes=11-"]
    assert dest.read_bytes() == data


# --- unpacking ------------------------------------------------------------------

@pytest.mark.parametrize("entry", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt"])
def test_safe_unpack_rejects_escaping_entries(tmp_path, entry):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "fine")
        zf.writestr(zipfile.ZipInfo(entry), "evil")
    target = tmp_path / "out"
    with pytest.raises(ValueError, match=f"unsafe zip entry '{entry}'"):
        safe_unpack(archive, target)
    assert not (tmp_path / "evil.txt").exists() and not (target / "fine.txt").exists()


def test_safe_unpack_rejects_symlinks(tmp_path):
    archive = tmp_path / "link.zip"
    link = zipfile.ZipInfo("link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        safe_unpack(archive, tmp_path / "out")


def test_safe_unpack_extracts(tmp_path):
    archive = tmp_path / "good.zip"
    make_bundle(archive)
    safe_unpack(archive, tmp_path / "out")
    assert (tmp_path / "out" / "cw1_files" / "run.sh").is_file()


def test_install_bundle_without_package(tmp_path, isolated):
    make_bundle(tmp_path / "cw1_files.zip", with_package=False)
    with pytest.raises(FileNotFoundError, match="ese_invldm/__init__.py") as info:
        install_bundle(tmp_path / "cw1_files.zip", tmp_path / "course")
    assert "run.sh" in str(info.value).split("found:")[1]  # what was found is listed
    assert not (tmp_path / "course" / MARKER).exists()


def test_install_bundle_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        install_bundle(tmp_path / "nope.zip", tmp_path / "course")
