"""The Colab path with the course bundle, against the emulation of tests/colab_emulation.py.

The unit tests cover the pieces (layouts, the generator's return value, quiet calls, seeds, the
generation plan, augmentation); the slow test executes the whole notebook as on Colab: a fake
``google.colab`` at kernel start, ``/content`` and Drive in temporary folders, the bundle zip on
the fake Drive.
"""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from colab_emulation import colab_startup, make_bundle, make_inverseldm_repo
from mri_inpaint import colab
from mri_inpaint.generation import augment_to, plan_generation
from mri_inpaint.sources.course import CourseSource, as_image_batch, generator_seed, quiet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def unpacked_generator(tmp_path, monkeypatch):
    """The emulated bundle unpacked and set up as on Colab, ``ese_invldm`` importable; yields the call log."""
    make_bundle(tmp_path / "cw1_files.zip")
    with zipfile.ZipFile(tmp_path / "cw1_files.zip") as zf:
        zf.extractall(tmp_path / "content")
    monkeypatch.setenv("FAKE_INVERSELDM_REPO", str(make_inverseldm_repo(tmp_path / "inverseldm-origin")))
    subprocess.run(["bash", "./run.sh"], cwd=tmp_path / "content", check=True, capture_output=True)
    log = tmp_path / "generate.jsonl"
    monkeypatch.setenv("FAKE_GENERATE_LOG", str(log))
    monkeypatch.setenv("FAKE_GENERATE_COST", "0")
    monkeypatch.syspath_prepend(str(tmp_path / "content" / "ese-invldm"))
    for name in [m for m in sys.modules if m.startswith(("ese_invldm", "invldm"))]:
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    yield log


# ---------------------------------------------------------------- bundle layouts
@pytest.mark.parametrize("layout", ["flat", "repacked"])
def test_both_bundle_layouts_end_up_where_the_course_cell_expects(tmp_path, layout):
    with zipfile.ZipFile(make_bundle(tmp_path / "cw1_files.zip", layout)) as zf:
        zf.extractall(tmp_path)
    moved = colab.flatten_bundle(tmp_path)
    assert (layout == "repacked") == bool(moved)
    assert (tmp_path / "run.sh").is_file() and colab.bundle_unpacked(tmp_path)
    assert not (tmp_path / "__MACOSX").exists() and not (tmp_path / "cw1_files").exists()


def test_setup_stamp_marks_run_sh_done(tmp_path):
    assert not colab.setup_done(tmp_path)
    colab.mark_setup_done(tmp_path)
    assert colab.setup_done(tmp_path)


def test_a_failed_import_stops_when_the_bundle_is_installed(capsys):
    with pytest.raises(RuntimeError, match="bundle is installed.*ModuleNotFoundError.*run.sh"):
        colab.no_generator(ModuleNotFoundError("No module named 'invldm'"), expected=True)
    assert colab.no_generator(ModuleNotFoundError("No module named 'ese_invldm'"), expected=False) is None
    assert "embedded real heads stand in" in capsys.readouterr().out


# ---------------------------------------------------------------- what generate returns
def test_generate_returns_cuda_like_float16_batches_that_are_read_correctly(unpacked_generator, capsys):
    from ese_invldm import generate

    with quiet():
        samples = generate(70, 3, 32, "ddim", 1.0, 5)
    assert capsys.readouterr().out == ""  # the per-batch prints and bars are captured
    assert isinstance(samples, list) and [len(b) for b in samples] == [32, 32, 6]
    assert samples[0].dtype == torch.float16 and str(samples[0].device) == "cuda:0"
    with pytest.raises(TypeError, match="cuda"):
        samples[0].numpy()  # the emulation is faithful: .numpy() needs .cpu() first
    images = as_image_batch(samples)
    assert images.shape == (70, 1, 64, 64) and images.dtype == np.float32
    assert images.min() == 0 and images.max() == 1  # min-max normalised per image, like the test images
    expected = samples[2][0, 0].cpu().float().numpy()
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(images[-6, 0], expected, atol=1e-6)


def test_course_source_folds_large_seeds_into_numpys_range(unpacked_generator):
    big = 20261128 * 1_000_003  # the evaluation cache's chunk seed
    images = CourseSource(num_inference_steps=2, batch_size=4).sample(5, big)
    assert images.shape == (5, 1, 64, 64)
    call = json.loads(unpacked_generator.read_text().splitlines()[-1])
    assert call["seed"] == generator_seed(big) == big % 2 ** 32
    assert call["num_samples"] == 5 and call["batch_size"] == 4


# ---------------------------------------------------------------- budget
def _rows(costs, nn):
    return [{"setting": f"s{i}", "params": {"num_inference_steps": i}, "s_per_image": c, "nn_mse": m}
            for i, (c, m) in enumerate(zip(costs, nn))]


def test_plan_takes_the_closest_setting_that_fits_and_prefers_cheaper_near_ties():
    # a T4: 0.11, 0.27, 0.54 s an image at 10, 25, 50 steps; a 35-minute budget
    rows = _rows([0.11, 0.27, 0.54], [0.0300, 0.0290, 0.0289])
    plan = plan_generation(rows, 40000, 2100, min_images=2000)
    assert plan.setting == "s1"  # 50 steps is no closer within tolerance, and makes half as many images
    assert plan.generated == int(2100 / 0.27) and plan.total == 40000
    assert plan.seconds <= 2100
    assert "augmented copies" in plan.describe()


def test_plan_ranks_by_framing_statistics_first():
    rows = _rows([0.11, 0.27], [0.0200, 0.0300])
    rows[0]["framing"], rows[1]["framing"] = {"within": 7, "of": 10}, {"within": 9, "of": 10}
    assert plan_generation(rows, 40000, 2100).setting == "s1"  # framed like the test images beats a lower MSE


def test_plan_refuses_settings_measured_on_different_numbers_of_images():
    rows = _rows([0.11, 0.27], [0.02, 0.03])
    rows[0]["images"], rows[1]["images"] = np.zeros((64, 1, 64, 64)), np.zeros((16, 1, 64, 64))
    with pytest.raises(ValueError, match="same number"):
        plan_generation(rows, 40000, 2100)


def test_plan_drops_settings_that_cannot_make_enough_images():
    rows = _rows([0.11, 0.54], [0.05, 0.01])
    plan = plan_generation(rows, 40000, 600, min_images=2000)  # 50 steps makes only 1,111 in 10 minutes
    assert plan.setting == "s0"
    with pytest.raises(ValueError, match="raise generation_budget_s"):
        plan_generation(rows, 40000, 60, min_images=2000)


def test_augmented_copies_keep_the_generated_images_first_and_are_reproducible():
    from conftest import make_smooth_images

    images = make_smooth_images(10, seed=3)
    out = augment_to(images, 25, seed=1)
    assert out.shape == (25, 1, 64, 64) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:10], images)
    assert out.min() >= 0 and out.max() <= 1
    assert not any(np.allclose(out[k], images[j]) for k in range(10, 25) for j in range(10))  # copies differ
    np.testing.assert_array_equal(out, augment_to(images, 25, seed=1))
    np.testing.assert_array_equal(augment_to(images, 4, seed=1), images[:4])


# ---------------------------------------------------------------- the notebook as on Colab
class ColabRuntime:
    """``/content`` (a link to a temporary folder), a Drive that outlives it, and the notebook's kernel."""

    def __init__(self, tmp_path: Path, monkeypatch):
        self.tmp = tmp_path
        self.content = tmp_path / "content"
        self.drive = tmp_path / "drive-store"
        self.my_drive = self.drive / "MyDrive"
        self.log = tmp_path / "generate.jsonl"
        startup = tmp_path / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-fake-colab.py").write_text(colab_startup(self.drive))
        for key, value in {"IPYTHONDIR": tmp_path / "ipython", "MRI_PRESET": "smoke", "FAKE_GENERATE_LOG": self.log,
                           "FAKE_INVERSELDM_REPO": make_inverseldm_repo(tmp_path / "inverseldm-origin"),
                           "FAKE_GENERATE_COST": "0.002"}.items():
            monkeypatch.setenv(key, str(value))
        for key in ("MRI_WORK_DIR", "MRI_TEST_SET", "MRI_DATA_DIR", "PYTHONPATH"):
            monkeypatch.delenv(key, raising=False)
        self.fresh()

    def fresh(self):
        """A new runtime: an empty ``/content`` holding the cloned repository; Drive is kept."""
        shutil.rmtree(self.content, ignore_errors=True)
        self.content.mkdir()
        ignore = shutil.ignore_patterns(".git", ".venv", "data", "runs", "__pycache__", ".pytest_cache", "*.egg-info")
        shutil.copytree(ROOT, self.content / "mri-inpaint", ignore=ignore)

    def run(self):
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.read(ROOT / "Assessment.ipynb", as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": "/content"}}).execute()  # raises on any cell error
        return "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))

    def calls(self):
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@pytest.fixture
def colab_runtime(tmp_path, monkeypatch):
    content = Path("/content")
    if content.exists() and not content.is_symlink():
        pytest.skip("/content is a real folder here (a Colab runtime?): the emulation needs to own it")
    runtime = ColabRuntime(tmp_path, monkeypatch)
    if content.is_symlink():
        content.unlink()
    try:
        content.symlink_to(runtime.content, target_is_directory=True)
    except PermissionError:
        pytest.fail("the Colab emulation needs to create the /content link (CI runs as root)")
    yield runtime
    content.unlink()


@pytest.mark.slow
def test_notebook_on_colab_trains_on_the_generator_keeps_all_on_drive_and_resumes(colab_runtime, test_set_file):
    rt = colab_runtime
    rt.my_drive.mkdir(parents=True)
    shutil.copy(test_set_file, rt.my_drive / "test_set.npy")
    make_bundle(rt.my_drive / "cw1_files.zip", "flat")

    out = rt.run()
    calls = rt.calls()
    assert calls and all(Path(c["cwd"]) == rt.content.resolve() for c in calls)  # generate ran in /content
    from mri_inpaint.checkpoint import load_checkpoint

    work = rt.my_drive / "mri_inpaint"
    state = load_checkpoint(work / "runs" / "notebook-smoke" / "last.pt")
    data = state["config"]["data"]
    assert data["source"] == "course"
    chosen = (data["course_scheduler"], data["course_steps"], data["course_temperature"])
    train_calls = [c for c in calls if c["seed"] != 42]
    assert train_calls and all((c["scheduler"], c["num_inference_steps"], c["temperature"]) == chosen
                               for c in train_calls)  # the training images were generated with the chosen setting
    assert sum(c["num_samples"] for c in train_calls) == data["generated_images"] < data["num_images"]
    caches = [p for p in (work / "data").iterdir() if p.name.startswith("course-")]
    assert caches and (work / "runs" / "notebook-smoke" / "final.pt").is_file()  # on Drive
    assert (work / "test_set_nogaps.npy").is_file()  # the fill is on Drive; the clone's copy is untouched
    assert (rt.content / "mri-inpaint" / "test_set_nogaps.npy").read_bytes() == (ROOT / "test_set_nogaps.npy").read_bytes()
    assert "augmented copies" in out and "Batch 0" not in out  # the plan is printed; generate's output is not

    # The generated cache holds generate's own images, min-max normalised.
    sys.path.insert(0, str(rt.content / "ese-invldm"))
    try:
        generator = importlib.import_module("ese_invldm.ese_invldm")
        cache = next(p for p in caches if "seed1234" in p.name)
        first = np.load(cache / "chunk_00000.npy")
        params = {"num_inference_steps": chosen[1], "scheduler": chosen[0], "temperature": chosen[2]}
        with quiet():
            expected = as_image_batch(generator.generate(num_samples=len(first), batch_size=data["course_batch_size"],
                                                         seed=train_calls[0]["seed"], **params))
        np.testing.assert_allclose(first, expected, atol=1e-6)
    finally:
        sys.path.remove(str(rt.content / "ese-invldm"))
        for name in [m for m in sys.modules if m.startswith(("ese_invldm", "invldm"))]:
            del sys.modules[name]

    # The same runtime again: no hang at unzip's prompt, nothing generated or trained twice.
    n_calls, last_pt = len(rt.calls()), (work / "runs" / "notebook-smoke" / "last.pt").read_bytes()
    out = rt.run()
    assert "Directory InverseLDM already exists" not in out  # run.sh did not run twice
    assert [c for c in rt.calls()[n_calls:] if c["seed"] != 42] == []
    assert (work / "runs" / "notebook-smoke" / "last.pt").read_bytes() == last_pt

    # A fresh runtime with the re-packed bundle: everything resumes from Drive.
    rt.fresh()
    (rt.my_drive / "cw1_files.zip").unlink()
    make_bundle(rt.my_drive / "cw1_files.zip", "repacked")
    n_calls = len(rt.calls())
    out = rt.run()
    assert "moved up from the re-packed bundle: ['ese-invldm', 'files', 'run.sh']" in out
    assert [c for c in rt.calls()[n_calls:] if c["seed"] != 42] == []
    assert (work / "runs" / "notebook-smoke" / "last.pt").read_bytes() == last_pt


@pytest.mark.slow
def test_notebook_on_colab_without_a_bundle_says_the_embedded_heads_stand_in(colab_runtime, test_set_file):
    rt = colab_runtime
    rt.my_drive.mkdir(parents=True)
    shutil.copy(test_set_file, rt.my_drive / "test_set.npy")
    out = rt.run()
    assert rt.calls() == []
    assert "embedded real heads stand in" in out and "no course bundle" in out
    from mri_inpaint.checkpoint import load_checkpoint

    state = load_checkpoint(rt.my_drive / "mri_inpaint" / "runs" / "notebook-smoke" / "last.pt")
    assert state["config"]["data"]["source"] == "anatomy"


def test_info_agrees_with_course_setup_and_the_run_sh_command_is_printed(tmp_path, test_set_file):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "mri_inpaint", *args, "--data-dir", str(tmp_path / "data")],
                              capture_output=True, text=True, cwd=ROOT)

    before = cli("info", "--test-set", str(test_set_file))
    assert "course generator not installed" in before.stdout, before.stderr
    setup = cli("course-setup", "--bundle", str(make_bundle(tmp_path / "cw1_files.zip", "repacked")))
    assert setup.returncode == 0, setup.stderr
    assert "&& bash run.sh)" in setup.stdout
    after = cli("info", "--test-set", str(test_set_file))
    assert after.returncode == 0, after.stderr
    # installed, but its InverseLDM is not cloned until run.sh runs: said, not hidden
    assert "course generator (ese_invldm) installed but it does not import" in after.stdout
    assert "run.sh" in after.stdout
