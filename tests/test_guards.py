"""Bad inputs, misuses and faults: one line, status 2, before any work, nothing replaced that was not asked for.

The data-loss cases run in a small temporary checkout (the deliverable, the ignore rules, a
committed figures folder) that :func:`mri_inpaint.paths.project_root` points at, and assert
the deliverable's bytes and ``git status`` afterwards.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from mri_inpaint.checkpoint import write_weights
from mri_inpaint.cli import main
from mri_inpaint.config import TrainConfig
from mri_inpaint.masks import DEFAULT_STRIPES, corrupt, stripe_mask
from mri_inpaint.model import InpaintNet

REPO = Path(__file__).resolve().parents[1]
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]


def _no_work(*args, **kwargs):
    pytest.fail("work started before the inputs were validated")


@pytest.fixture
def checkout(tmp_path, monkeypatch, test_set_file):
    """A tiny git checkout holding the deliverable, with the package's project folder pointed at it."""
    root = tmp_path / "clone"
    (root / "figures").mkdir(parents=True)
    for name in ("test_set_nogaps.npy", ".gitignore", "pyproject.toml"):
        shutil.copy2(REPO / name, root / name)
    (root / "figures" / "q1.png").write_bytes(b"committed figure")
    if shutil.which("git"):
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
            subprocess.run([*GIT, *cmd], cwd=root, check=True, capture_output=True)
    monkeypatch.setattr("mri_inpaint.paths.project_root", lambda: root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("MRI_TEST_SET", raising=False)
    monkeypatch.delenv("MRI_DATA_DIR", raising=False)
    for name in ("run", "train_or_resume", "training_images", "adapt_to_test_images", "new_slices"):
        monkeypatch.setattr(f"mri_inpaint.pipeline.{name}", _no_work)
    monkeypatch.setattr("mri_inpaint.fill.predict", _no_work)
    return root


@pytest.fixture
def weights_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "weights.pt"
    write_weights(path, InpaintNet(chans=8, num_pool_layers=2), config=asdict(TrainConfig(chans=8)))
    return path


def _run(argv, capsys):
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.err


def _one_line(err: str) -> str:
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------- data loss: the deliverable and the inputs
def _data_loss_case(case, root, tmp, test_set, weights):
    """The argv of one data-loss case, the file it must leave alone, and what the error says."""
    deliverable = root / "test_set_nogaps.npy"
    smoke = ["run", "-q", "--preset", "smoke", "--source", "anatomy", "--device", "cpu", "--test-set", test_set]
    mask = tmp / "mask.npy"
    np.save(mask, stripe_mask(DEFAULT_STRIPES))
    if case == "run --output runs/../deliverable":
        return [*smoke, "--output", "runs/../test_set_nogaps.npy"], deliverable, "never writes the deliverable"
    if case == "run --output through a symlinked folder":
        (tmp / "link").symlink_to(root)
        return [*smoke, "--output", tmp / "link" / "test_set_nogaps.npy"], deliverable, "never writes"
    if case == "run --output a hard link to the deliverable":
        os.link(deliverable, tmp / "hard.npy")
        return [*smoke, "--output", tmp / "hard.npy", "--overwrite"], deliverable, "never writes"
    if case == "run --export the deliverable":
        return [*smoke, "--export", "test_set_nogaps.npy"], deliverable, "must end in .pt"
    if case == "run --export an existing file":
        (tmp / "w.pt").write_bytes(b"mine")
        return [*smoke, "--export", tmp / "w.pt"], tmp / "w.pt", "pass --overwrite"
    if case == "run --export a .pt hard link to the deliverable":
        os.link(deliverable, tmp / "d.pt")
        return [*smoke, "--export", tmp / "d.pt", "--overwrite"], deliverable, "is the deliverable"
    if case == "run --output the --test-set":
        return [*smoke, "--output", test_set, "--overwrite"], test_set, "refusing to overwrite the input"
    if case == "run --output an existing user file":
        np.save(tmp / "mine.npy", np.zeros(3))
        return [*smoke, "--output", tmp / "mine.npy"], tmp / "mine.npy", "pass --overwrite"
    if case == "run --output the --mask, with --overwrite":
        return [*smoke, "--mask", mask, "--output", mask, "--overwrite"], mask, "refusing to overwrite the input"
    if case == "evaluate --out the deliverable":
        return ["evaluate", "-q", "--test-set", test_set, "--out", "test_set_nogaps.npy"], deliverable, "deliverable"
    if case == "evaluate --out a symlink to the deliverable":
        (tmp / "r.json").symlink_to(deliverable)
        return ["evaluate", "-q", "--test-set", test_set, "--out", tmp / "r.json"], deliverable, "symbolic link"
    if case == "evaluate --out an existing file":
        (tmp / "r.json").write_text("mine")
        return ["evaluate", "-q", "--test-set", test_set, "--out", tmp / "r.json"], tmp / "r.json", "pass --overwrite"
    if case == "fill --output the --mask, with --overwrite":
        return (["fill", "-q", "--input", test_set, "--mask", mask, "--output", mask, "--weights", weights,
                 "--overwrite"], mask, "refusing to overwrite the input")
    if case == "fill --output the deliverable, with --overwrite":
        return (["fill", "-q", "--input", test_set, "--output", "test_set_nogaps.npy", "--weights", weights,
                 "--overwrite"], deliverable, "is the deliverable")
    if case == "adapt --output the --weights, with --overwrite":
        return (["adapt", "-q", "--test-set", test_set, "--weights", weights, "--output", weights, "--overwrite",
                 "--preset", "smoke", "--source", "anatomy", "--device", "cpu"], weights,
                "refusing to overwrite the input")
    if case == "adapt --output the deliverable":
        return (["adapt", "-q", "--test-set", test_set, "--weights", weights, "--output", "x/../test_set_nogaps.npy",
                 "--preset", "smoke"], deliverable, "must end in .pt")
    raise AssertionError(case)


DATA_LOSS_CASES = ["run --output runs/../deliverable", "run --output through a symlinked folder",
                   "run --output a hard link to the deliverable", "run --export the deliverable",
                   "run --export an existing file", "run --export a .pt hard link to the deliverable",
                   "run --output the --test-set", "run --output an existing user file",
                   "run --output the --mask, with --overwrite", "evaluate --out the deliverable",
                   "evaluate --out a symlink to the deliverable", "evaluate --out an existing file",
                   "fill --output the --mask, with --overwrite", "fill --output the deliverable, with --overwrite",
                   "adapt --output the --weights, with --overwrite", "adapt --output the deliverable"]


@pytest.mark.parametrize("case", DATA_LOSS_CASES)
def test_no_command_writes_the_deliverable_or_an_input(case, checkout, tmp_path, test_set_file, weights_file, capsys):
    deliverable = (checkout / "test_set_nogaps.npy").read_bytes()
    argv, kept, expected = _data_loss_case(case, checkout, tmp_path, test_set_file, weights_file)
    before = Path(kept).read_bytes()
    rc, err = _run(argv, capsys)
    assert rc == 2 and expected in _one_line(err), err
    assert (checkout / "test_set_nogaps.npy").read_bytes() == deliverable
    assert Path(kept).read_bytes() == before
    if shutil.which("git"):
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=checkout,
                                check=True, capture_output=True, text=True).stdout
        assert status == "", status


def test_fill_overwrite_keeps_a_copy_the_next_fill_does_not_replace(checkout, tmp_path, test_set_file, weights_file,
                                                                    monkeypatch, capsys):
    from mri_inpaint import fill

    monkeypatch.undo()  # the real fill, in the project folder of the checkout
    monkeypatch.setattr("mri_inpaint.paths.project_root", lambda: checkout)
    out = tmp_path / "mine.npy"
    np.save(out, np.full((48, 1, 64, 64), 0.5, np.float32))
    for _ in range(2):
        assert main(["fill", "-q", "--device", "cpu", "--input", str(test_set_file), "--output", str(out),
                     "--weights", str(weights_file), "--overwrite"]) == 0
    copies = sorted((checkout / "runs" / "previous").glob("mine.*.npy"))
    assert len(copies) == 2 and any(np.all(np.load(c) == 0.5) for c in copies)
    assert fill is not None


# ---------------------------------------------------------------- every flag validated before any work
def _bad_case(case, root, tmp, test_set):
    smoke = ["run", "-q", "--preset", "smoke", "--source", "anatomy", "--device", "cpu", "--test-set", test_set]
    cases = {
        "--epochs 0": ([*smoke, "--epochs", "0"], "--epochs 0: must be >= 1"),
        "--chans 0": ([*smoke, "--chans", "0"], "--chans 0: must be >= 1"),
        "--num-pool-layers 0": ([*smoke, "--num-pool-layers", "0"], "--num-pool-layers 0: must be in 1..6"),
        "--num-pool-layers 10": ([*smoke, "--num-pool-layers", "10"], "--num-pool-layers 10: must be in 1..6"),
        "--chans too large for memory": ([*smoke, "--chans", "200000"], "choose a smaller --chans"),
        "--adapt-steps -1": ([*smoke, "--adapt-steps", "-1"], "--adapt-steps -1: must be >= 0"),
        "--warmup-steps -5": ([*smoke, "--warmup-steps", "-5"], "--warmup-steps -5: must be >= 0"),
        "--eval-images 0": ([*smoke, "--eval-images", "0"], "--eval-images 0: must be >= 1"),
        "--adapt-folds 1": ([*smoke, "--adapt-folds", "1"], "--adapt-folds 1"),
        "--held-out-head bogus": ([*smoke, "--held-out-head", "bogus"], "--held-out-head 'bogus'"),
        "info --held-out-head bogus": (["info", "-q", "--test-set", test_set, "--held-out-head", "bogus"],
                                       "--held-out-head 'bogus'"),
        "--heads bogus": ([*smoke, "--heads", "bogus"], "--heads 'bogus'"),
        "--heads only the held-out one": ([*smoke, "--heads", "robex"], "leaves no head to train on"),
        "--run-dir a file": ([*smoke, "--run-dir", tmp / "afile"], "--run-dir"),
        "--data-dir a file": ([*smoke, "--data-dir", tmp / "afile"], "--data-dir"),
        "--export a directory": ([*smoke, "--export", tmp / "dir.pt"], "is a directory"),
        "--figures a file": ([*smoke, "--figures", tmp / "afile"], "is a file, not a folder"),
        "--figures a committed folder": ([*smoke, "--figures", "figures"], "folder of committed files"),
        "--figures inside the project root": ([*smoke, "--figures", "."], "folder of committed files"),
        "evaluate --out a directory": (["evaluate", "-q", "--test-set", test_set, "--out", tmp / "dir.pt"],
                                       "is a directory"),
        "evaluate --out under a file": (["evaluate", "-q", "--test-set", test_set, "--out", tmp / "afile" / "r.json"],
                                        "which is a file"),
        "evaluate --out a dangling symlink": (["evaluate", "-q", "--test-set", test_set, "--out", tmp / "dangling"],
                                              "symbolic link"),
        "generate --n 0": (["generate", "-q", "--n", "0", "--out", tmp / "c"], "--n 0"),
        "generate --n huge": (["generate", "-q", "--n", "100000000000", "--out", tmp / "c"], "choose a smaller --n"),
        "generate --out a file": (["generate", "-q", "--n", "4", "--out", tmp / "afile"], "--out"),
        "train on a run without --resume": (["train", "-q", "--preset", "smoke", "--test-set", test_set,
                                             "--run-dir", tmp / "run"], "pass --resume"),
        "--output on a full disk": ([*smoke, "--output", tmp / "o.npy"], "disk"),
    }
    return cases[case]


BAD_CASES = ["--epochs 0", "--chans 0", "--num-pool-layers 0", "--num-pool-layers 10", "--chans too large for memory",
             "--adapt-steps -1", "--warmup-steps -5", "--eval-images 0", "--adapt-folds 1", "--held-out-head bogus",
             "info --held-out-head bogus", "--heads bogus", "--heads only the held-out one", "--run-dir a file",
             "--data-dir a file", "--export a directory", "--figures a file", "--figures a committed folder",
             "--figures inside the project root", "evaluate --out a directory", "evaluate --out under a file",
             "evaluate --out a dangling symlink", "generate --n 0", "generate --n huge", "generate --out a file",
             "train on a run without --resume", "--output on a full disk"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_before_any_work(case, checkout, tmp_path, test_set_file, monkeypatch, capsys):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dir.pt").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere.json")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"a run")
    monkeypatch.setattr("mri_inpaint.cache.ImageCache.build", _no_work)
    if case == "--output on a full disk":
        monkeypatch.setattr("shutil.disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 10, 10))
    argv, expected = _bad_case(case, checkout, tmp_path, test_set_file)
    rc, err = _run(argv, capsys)
    assert rc == 2 and expected in _one_line(err), err
    assert not (tmp_path / "nowhere.json").exists() and not (tmp_path / "c").exists()


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--epochs", "x"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "usage:" not in err
    assert err.startswith("mri-inpaint run: error: argument --epochs") and "mri-inpaint run --help" in err


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04truncated"])
def test_bad_bundle_is_one_line_naming_the_flag(tmp_path, content, capsys):
    bundle = tmp_path / "cw1_files.zip"
    bundle.write_bytes(content)
    rc, err = _run(["course-setup", "-q", "--bundle", bundle, "--data-dir", tmp_path / "data"], capsys)
    assert rc == 2 and "--bundle" in _one_line(err) and "unexpected" not in err, err


def test_disk_full_while_writing_is_one_line_with_a_remedy(tmp_path, test_set_file, weights_file, monkeypatch, capsys):
    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("mri_inpaint.fill.atomic_write", full)
    rc, err = _run(["fill", "-q", "--device", "cpu", "--input", test_set_file, "--output", tmp_path / "o.npy",
                    "--weights", weights_file], capsys)
    assert rc == 2 and "disk is full" in _one_line(err) and "--output" in err


def test_a_short_write_on_a_full_disk_is_reported_as_disk_full(tmp_path, monkeypatch):
    from mri_inpaint.utils import atomic_write

    monkeypatch.setattr("shutil.disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 10, 10))

    def short(tmp):
        raise OSError("409600 requested and 29664 written")

    with pytest.raises(OSError) as exc:
        atomic_write(tmp_path / "o.npy", short)
    assert exc.value.errno == errno.ENOSPC and not list(tmp_path.iterdir())


# ---------------------------------------------------------------- stale temporary files
def test_a_killed_writes_temporary_file_is_removed_by_the_next_write(tmp_path):
    from mri_inpaint.utils import STALE_TMP_SECONDS, atomic_write

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".out.npy.pid{dead.pid}.abc.tmp"
    live = tmp_path / f".out.npy.pid{os.getpid()}.def.tmp"  # a concurrent writer: kept
    old = tmp_path / ".out.npy.xyz.tmp"
    for path in (stale, live, old):
        path.write_bytes(b"partial")
    os.utime(old, (time.time() - STALE_TMP_SECONDS - 5,) * 2)
    atomic_write(tmp_path / "out.npy", lambda tmp: tmp.write_bytes(b"new"))
    assert not stale.exists() and not old.exists() and live.exists()
    assert (tmp_path / "out.npy").read_bytes() == b"new"


# ---------------------------------------------------------------- masks and dtypes
def test_a_stack_with_two_masks_is_refused_with_counts(tmp_path, corrupted_images, clean_images, weights_file, capsys):
    other = np.roll(stripe_mask(DEFAULT_STRIPES), 1, axis=1)
    images = corrupted_images.copy()
    images[:10] = corrupt(clean_images[:10], other)
    np.save(tmp_path / "mixed.npy", images)
    rc, err = _run(["fill", "-q", "--device", "cpu", "--input", tmp_path / "mixed.npy", "--output",
                    tmp_path / "o.npy", "--weights", weights_file], capsys)
    assert rc == 2 and "10 of 48 images have another mask" in _one_line(err) and "--mask" in err
    assert not (tmp_path / "o.npy").exists()


def test_a_horizontal_stripe_mask_is_described_not_divided_by_zero(tmp_path, test_set_file, capsys, caplog):
    mask = np.zeros((64, 64), bool)
    mask[::2] = True
    np.save(tmp_path / "h.npy", mask)
    rc = main(["info", "-q", "--test-set", str(test_set_file), "--mask", str(tmp_path / "h.npy"),
               "--data-dir", str(tmp_path / "data")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "stripes: period" in out and "ZeroDivision" not in err
    assert "differs from the test images' stripe mask on" in caplog.text  # far from the trained family: the distance


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_observed_pixels_stay_bit_identical_in_the_inputs_dtype(tmp_path, corrupted_images, weights_file, dtype,
                                                                capsys):
    images = corrupted_images.astype(dtype)
    images[images > 0] += np.finfo(dtype).eps / 4 if dtype == np.float64 else 0  # bits float32 cannot hold
    images = np.clip(images, 0, 1)
    np.save(tmp_path / "in.npy", images)
    assert main(["fill", "-q", "--device", "cpu", "--input", str(tmp_path / "in.npy"), "--output",
                 str(tmp_path / "o.npy"), "--weights", str(weights_file)]) == 0, capsys.readouterr().err
    out = np.load(tmp_path / "o.npy")
    observed = ~np.broadcast_to(stripe_mask(DEFAULT_STRIPES), out.shape)
    assert out.dtype == dtype and np.array_equal(out[observed], images[observed])


# ---------------------------------------------------------------- no stale result
def test_resume_with_a_changed_setting_names_the_difference(tmp_path, test_set_file, capsys):
    base = ["train", "-q", "--preset", "smoke", "--source", "anatomy", "--device", "cpu", "--test-set",
            str(test_set_file), "--num-images", "40", "--data-dir", str(tmp_path / "data"), "--run-dir",
            str(tmp_path / "run")]
    assert main(base) == 0
    last = (tmp_path / "run" / "last.pt").read_bytes()
    rc, err = _run([*base, "--resume", "--lr", "0.1", "--epochs", "2"], capsys)
    assert rc == 2 and "--lr 0.1 (the run used 0.002)" in _one_line(err) and "--epochs 2" in err
    assert (tmp_path / "run" / "last.pt").read_bytes() == last
    assert main([*base, "--resume"]) == 0  # the same settings resume


def test_a_smaller_cache_after_a_larger_one_gets_its_own_folder(tmp_path):
    from mri_inpaint.config import preset
    from mri_inpaint.paths import Paths
    from mri_inpaint.pipeline import image_cache, image_source

    cfg = preset("smoke")
    cfg.data.source = "anatomy"
    source = image_source(cfg.data, Paths.default())
    big = image_cache(source, 12, 5, tmp_path / "data")
    big.build(source, progress=False)
    small = image_cache(source, 5, 5, tmp_path / "data")
    assert small.root != big.root and small.root.name.endswith("-n5")
    images = small.build(source, progress=False)  # no "a cache is extended, never shrunk"
    fresh = image_cache(source, 5, 5, tmp_path / "fresh").build(source, progress=False)
    assert np.array_equal(images, fresh)  # the same images as a cache of 5 built on its own
    assert big.is_complete()


def test_the_demo_input_gets_its_own_run_folder(checkout, monkeypatch, capsys):
    seen = {}

    def fake_run(cfg, paths, test, **kwargs):
        seen["run_dir"], seen["demo"] = paths.run_dir, test.demo
        raise KeyboardInterrupt

    monkeypatch.setattr("mri_inpaint.pipeline.run", fake_run)
    assert main(["run", "-q", "--preset", "smoke", "--source", "anatomy", "--device", "cpu"]) == 130
    assert seen["demo"] and seen["run_dir"] == checkout / "runs" / "preset-smoke-demo"


def test_generate_onto_another_cache_names_its_flags(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["generate", "-q", "--n", "2", "--out", str(out), "--source", "anatomy"]) == 0
    rc, err = _run(["generate", "-q", "--n", "2", "--seed", "5", "--out", out, "--source", "anatomy"], capsys)
    assert rc == 2 and "--overwrite" in _one_line(err) and "--out" in err and "overwrite=True" not in err
