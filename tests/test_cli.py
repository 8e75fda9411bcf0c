"""Tests for mri_inpaint.cli: help, info, fill, error reporting, and an end-to-end train/resume/evaluate."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from mri_inpaint.checkpoint import load_checkpoint, write_weights
from mri_inpaint.cli import build_parser, config_from_args, field_help, main
from mri_inpaint.config import AdaptConfig, TrainConfig, preset
from mri_inpaint.paths import Paths
from mri_inpaint.model import InpaintNet


@pytest.fixture
def weights_file(tmp_path):
    """A tiny freshly initialised model (head nudged off zero) exported as a weights file."""
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2)
    with torch.no_grad():
        model.unet.head.weight.normal_(0, 0.05)
    path = tmp_path / "weights.pt"
    write_weights(path, model, config=asdict(TrainConfig(chans=8, num_pool_layers=2)))
    return path


def _one_line_error(err: str) -> str:
    assert err.startswith("error: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _fill(args, capsys):
    rc = main(["fill", "--device", "cpu", "-q", *map(str, args)])
    return rc, capsys.readouterr()


# ---------------------------------------------------------------- parser
@pytest.mark.parametrize("argv", [["--help"], ["fill", "--help"], ["train", "--help"], ["info", "-h"]])
def test_help_exits_zero(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["bogus"], ["fill"], ["train", "--epochs", "three"], ["run", "--bogus"]])
def test_bad_arguments_exit_two_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage:" not in err, err  # no usage block before the error
    prog = "mri-inpaint" + (f" {argv[0]}" if argv and argv[0] != "bogus" else "")
    assert err.startswith(f"{prog}: error: ") and f"(see {prog} --help)" in err, err


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("info", "generate", "train", "evaluate", "fill", "run"):
        assert cmd in out


# ---------------------------------------------------------------- info
def test_info_prints_missing_pixel_count(test_set_file, mask, capsys):
    assert main(["info", "--test-set", str(test_set_file), "-q"]) == 0
    out = capsys.readouterr().out
    assert f"mask: {int(mask.sum())} missing pixels of 4096" in out
    assert "count: 48" in out
    assert "stripes: period 4.05" in out


def test_info_with_explicit_mask(tmp_path, test_set_file, mask, capsys):
    np.save(tmp_path / "mask.npy", mask)
    assert main(["info", "--test-set", str(test_set_file), "--mask", str(tmp_path / "mask.npy"), "-q"]) == 0
    assert f"mask: {int(mask.sum())} missing pixels" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["text", "missing", "wrong shape", "out of range"])
def test_info_bad_input_is_one_line_error(tmp_path, content, capsys):
    path = tmp_path / "bad.npy"
    if content == "text":
        path.write_text("this is not\nan array\n")
    elif content == "wrong shape":
        np.save(path, np.zeros((4, 32, 32), np.float32))
    elif content == "out of range":
        np.save(path, np.full((4, 1, 64, 64), 2.0, np.float32))
    assert main(["info", "--test-set", str(path), "-q"]) == 2
    captured = capsys.readouterr()
    err = _one_line_error(captured.err)
    assert "bad.npy" in err
    assert captured.out == ""


# ---------------------------------------------------------------- fill
@pytest.mark.parametrize("layout", ["4d", "3d"])
def test_fill_keeps_layout_and_observed_pixels(tmp_path, corrupted_images, mask, weights_file, layout, capsys):
    images = corrupted_images if layout == "4d" else corrupted_images[:, 0]
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, images)
    rc, captured = _fill(["--input", src, "--output", out, "--weights", weights_file], capsys)
    assert rc == 0, captured.err
    assert "(verified)" in captured.out
    filled = np.load(out)
    assert filled.shape == images.shape and filled.dtype == np.float32
    observed = ~np.broadcast_to(mask, images.shape)
    np.testing.assert_array_equal(filled[observed], images[observed])
    assert np.isfinite(filled).all() and filled.min() >= 0 and filled.max() <= 1
    assert (filled[~observed] != 0).mean() > 0.9  # the gaps were filled
    np.testing.assert_array_equal(np.load(src), images)  # input untouched


def test_fill_with_explicit_mask_single_image(tmp_path, corrupted_images, mask, weights_file, capsys):
    src, out, mask_path = tmp_path / "one.npy", tmp_path / "out.npy", tmp_path / "mask.npy"
    np.save(src, corrupted_images[:1])
    np.save(mask_path, mask)
    rc, captured = _fill(["--input", src, "--output", out, "--mask", mask_path, "--weights", weights_file],
                         capsys)
    assert rc == 0, captured.err
    assert np.load(out).shape == (1, 1, 64, 64)


def test_fill_missing_weights(tmp_path, test_set_file, capsys):
    rc, captured = _fill(["--input", test_set_file, "--output", tmp_path / "out.npy",
                          "--weights", tmp_path / "nope.pt"], capsys)
    assert rc == 2
    assert "nope.pt" in _one_line_error(captured.err) and "not found" in captured.err
    assert not (tmp_path / "out.npy").exists()


def test_fill_corrupted_weights(tmp_path, test_set_file, weights_file, capsys):
    data = weights_file.read_bytes()
    weights_file.write_bytes(data[: len(data) // 3])
    rc, captured = _fill(["--input", test_set_file, "--output", tmp_path / "out.npy",
                          "--weights", weights_file], capsys)
    assert rc == 2
    assert "corrupted" in _one_line_error(captured.err)
    assert not (tmp_path / "out.npy").exists()


def test_fill_refuses_to_overwrite_input(test_set_file, corrupted_images, weights_file, capsys):
    rc, captured = _fill(["--input", test_set_file, "--output", test_set_file, "--weights", weights_file], capsys)
    assert rc == 2
    assert "refusing to overwrite the input" in _one_line_error(captured.err)
    np.testing.assert_array_equal(np.load(test_set_file), corrupted_images)


def test_fill_existing_output_needs_overwrite(tmp_path, test_set_file, weights_file, capsys):
    out = tmp_path / "out.npy"
    out.write_bytes(b"previous")
    args = ["--input", test_set_file, "--output", out, "--weights", weights_file]
    rc, captured = _fill(args, capsys)
    assert rc == 2 and "--overwrite" in _one_line_error(captured.err)
    assert out.read_bytes() == b"previous"
    rc, captured = _fill([*args, "--overwrite"], capsys)
    assert rc == 0, captured.err
    assert np.load(out).shape == (48, 1, 64, 64)


# ---------------------------------------------------------------- end to end
@pytest.mark.slow
def test_train_resume_evaluate_via_cli(tmp_path, test_set_file, capsys):
    run_dir, data_dir, weights = tmp_path / "run", tmp_path / "data", tmp_path / "w.pt"
    common = ["--test-set", str(test_set_file), "--data-dir", str(data_dir), "-q"]
    train = ["train", *common, "--run-dir", str(run_dir), "--chans", "8", "--num-images", "40",
             "--batch-size", "8", "--device", "cpu"]
    assert main([*train, "--epochs", "1"]) == 0, capsys.readouterr().err
    assert "trained 1 epochs" in capsys.readouterr().out
    assert main([*train, "--epochs", "1"]) == 2  # an existing run is not overwritten without --resume
    assert "--resume" in _one_line_error(capsys.readouterr().err)

    assert main([*train, "--epochs", "2", "--resume"]) == 2  # resuming with other settings is refused, named
    assert "--epochs 2 (the run used 1)" in _one_line_error(capsys.readouterr().err)
    before = (run_dir / "last.pt").read_bytes()
    assert main([*train, "--epochs", "1", "--resume"]) == 0, capsys.readouterr().err  # finished: nothing retrained
    assert "trained 1 epochs" in capsys.readouterr().out and (run_dir / "last.pt").read_bytes() == before
    state = load_checkpoint(run_dir / "last.pt")
    assert state["resume"]["epoch"] == 0 and len(state["history"]) == 1
    assert state["config"]["train"]["epochs"] == 1 and state["config"]["data"]["num_images"] == 40
    assert all("real_check_psnr" in row for row in state["history"])

    assert main(["adapt", *common, "--run-dir", str(run_dir), "--weights", str(run_dir / "best.pt"),
                 "--output", str(weights), "--adapt-steps", "2", "--adapt-num-anchors", "8", "--num-images", "40",
                 "--device", "cpu"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "real-image check, cross-fitted" in out and "in-sample" in out
    assert load_checkpoint(weights)["model_args"]["chans"] == 8
    assert main(["adapt", *common, "--run-dir", str(run_dir), "--weights", str(run_dir / "best.pt"),
                 "--output", str(weights)]) == 2  # never replaced without --overwrite
    assert "--overwrite" in _one_line_error(capsys.readouterr().err)

    assert main(["evaluate", *common, "--weights", str(weights), "--eval-images", "8", "--device", "cpu",
                 "--out", str(tmp_path / "rows.json")]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "new slices of the training heads: 8" in out
    for method in ("zero fill", "row-wise linear", "biharmonic", "U-Net (ours)"):
        assert f"| {method} |" in out
    assert (tmp_path / "rows.json").is_file()


@pytest.mark.slow
def test_run_whole_job_on_a_demo_input(tmp_path, monkeypatch, capsys):
    """No test set anywhere: `run` says so, works on a demo input, and writes verified outputs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MRI_TEST_SET", raising=False)
    monkeypatch.setattr("mri_inpaint.paths.project_root", lambda: tmp_path)
    run_dir = tmp_path / "run"
    args = ["run", "-q", "--run-dir", str(run_dir), "--data-dir", str(tmp_path / "data"), "--chans", "8",
            "--num-pool-layers", "2", "--num-images", "40", "--batch-size", "8", "--epochs", "1",
            "--device", "cpu", "--adapt-steps", "2", "--figures", str(tmp_path / "fig"),
            "--export", str(tmp_path / "final.pt")]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "DEMO input" in out
    run_dir = tmp_path / "run-demo"  # the demo input never shares a real run's folder
    filled = np.load(run_dir / "demo_nogaps.npy")
    assert filled.shape == (100, 1, 64, 64) and filled.dtype == np.float32
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["demo_input"] is True
    assert {r["method"] for r in metrics["new_slices"]} >= {"biharmonic", "U-Net, trained", "U-Net, final"}
    assert metrics["fill_choice"]["fill"] in {r["method"] for r in metrics["held_out_head"]}
    assert {r["method"] for r in metrics["real_check"]} >= {"biharmonic", "U-Net, trained"}
    assert (tmp_path / "fig" / "test_filled.png").is_file() and (run_dir / "adapted.pt").is_file()
    assert (run_dir / "final.pt").is_file()
    choice = metrics["fill_choice"]  # the fill the held-out head favoured
    want = {"chans": 8, "num_pool_layers": 2, "test_time_shifts": choice["test_time_shifts"]}
    assert load_checkpoint(tmp_path / "final.pt")["model_args"] == want
    assert metrics["cross_fitted_check"]["folds"] == 2 and np.isfinite(metrics["cross_fitted_check"]["after"]["psnr"])
    # A second run resumes everything (training finished, adaptation reused) and keeps the previous output;
    # the existing --export file is replaced only with --overwrite.
    assert main(args) == 2 and "--overwrite" in _one_line_error(capsys.readouterr().err)
    assert main([*args, "--overwrite"]) == 0, capsys.readouterr().err
    assert list((run_dir / "previous").glob("*demo_nogaps*.npy"))


# ---------------------------------------------------------------- flags from the configs
def test_every_config_field_has_a_flag_with_its_comment_as_help(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for cls, prefix in ((TrainConfig, ""), (AdaptConfig, "adapt-")):
        helps = field_help(cls)
        for name, text in helps.items():
            assert f"--{prefix}{name.replace('_', '-')}" in out
            assert " ".join(text.split()) in out, name
    assert set(field_help(TrainConfig)) == {f for f in TrainConfig.__dataclass_fields__}


def test_flags_override_the_preset_and_unset_flags_keep_it():
    args = build_parser().parse_args(["run", "--preset", "smoke", "--epochs", "3", "--adapt-lr", "0.01",
                                      "--no-amp", "--device", "cpu"])
    cfg = config_from_args(args)
    smoke = preset("smoke")
    assert cfg.train.epochs == 3 and cfg.adapt.lr == 0.01 and cfg.train.amp is False and cfg.device == "cpu"
    assert cfg.train.chans == smoke.train.chans and cfg.data.num_images == smoke.data.num_images
    assert config_from_args(build_parser().parse_args(["run"])) == preset("full")


def test_unknown_preset_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--preset", "huge"])
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_info_reports_the_training_cache(tmp_path, test_set_file, capsys):
    from mri_inpaint.config import with_overrides
    from mri_inpaint.paths import Paths
    from mri_inpaint.pipeline import training_images

    args = ["info", "--test-set", str(test_set_file), "--data-dir", str(tmp_path), "--source", "anatomy",
            "--num-images", "8", "-q"]
    assert main(args) == 0
    assert "not built yet" in capsys.readouterr().out
    cfg = with_overrides(preset(), data={"source": "anatomy", "num_images": 8})
    training_images(cfg, Paths.default().replace(data_dir=tmp_path), progress=False)
    assert main(args) == 0
    assert "(8 images): complete" in capsys.readouterr().out


# ---------------------------------------------------------------- bad inputs: one line, status 2, before any work
def _flags_named(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


def _help(command: str, capsys) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


def _deny(monkeypatch, path: Path) -> None:
    """Make ``os.access`` deny ``path`` (chmod does not stop root, who runs CI here)."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != path and real(p, mode))


def _setup_fill_case(case, tmp_path, monkeypatch, mask, files):
    """Make the files of one bad ``fill`` call; returns the extra arguments and what the error must say."""
    out = tmp_path / "out.npy"
    if case == "output is a directory":
        out.mkdir()
        return {"--output": out, "--overwrite": None}, "is a directory"
    if case == "output under a file":
        (tmp_path / "afile").write_text("x")
        return {"--output": tmp_path / "afile" / "out.npy"}, "which is a file, not a folder"
    if case == "dangling symlink output":
        out.symlink_to(tmp_path / "nowhere.npy")
        return {"--output": out, "--overwrite": None}, "is a symbolic link"
    if case == "output folder not writable":
        _deny(monkeypatch, tmp_path)
        return {"--output": tmp_path / "ro" / "out.npy"}, "cannot write into"
    if case == "output not .npy":
        return {"--output": tmp_path / "out.txt"}, "must end in .npy"
    if case == "input unreadable":
        _deny(monkeypatch, files["--input"])
        return {}, "permission denied"
    if case == "input is a directory":
        (tmp_path / "dir.npy").mkdir()
        return {"--input": tmp_path / "dir.npy"}, "is a directory"
    if case == "weights not a torch file":
        (tmp_path / "w.pt").write_text("not weights\n")
        return {"--weights": tmp_path / "w.pt"}, "not a checkpoint of this project"
    if case == "weights unreadable":
        _deny(monkeypatch, files["--weights"])
        return {}, "cannot read weights file"
    if case == "weights is a directory":
        (tmp_path / "wdir.pt").mkdir()
        return {"--weights": tmp_path / "wdir.pt"}, "is a directory"
    if case == "unknown device":
        return {"--device": "tpu"}, "unknown device 'tpu'"
    if case in ("mask fills nothing", "mask keeps nothing"):
        np.save(tmp_path / "m.npy", np.full((64, 64), case == "mask keeps nothing"))
        return {"--mask": tmp_path / "m.npy"}, "no pixel as missing" if case == "mask fills nothing" else "every pixel"
    raise AssertionError(case)


FILL_CASES = ["output is a directory", "output under a file", "dangling symlink output", "output folder not writable",
              "output not .npy", "input unreadable", "input is a directory", "weights not a torch file",
              "weights unreadable", "weights is a directory", "unknown device", "mask fills nothing",
              "mask keeps nothing"]


@pytest.mark.parametrize("case", FILL_CASES)
def test_fill_bad_input_is_one_line_before_any_work(case, tmp_path, test_set_file, weights_file, mask, monkeypatch,
                                                    capsys):
    help_text = _help("fill", capsys)
    args = {"--input": test_set_file, "--output": tmp_path / "out.npy", "--weights": weights_file, "--device": "cpu"}
    extra, expected = _setup_fill_case(case, tmp_path, monkeypatch, mask, args)
    args.update(extra)
    monkeypatch.setattr("mri_inpaint.fill.predict", lambda *a, **k: pytest.fail("the fill ran before the check"))
    argv = ["fill", "-q"] + [str(x) for k, v in args.items() for x in ((k,) if v is None else (k, v))]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = _one_line_error(captured.err)
    assert expected in err and captured.out == ""
    assert _flags_named(err) <= _flags_named(help_text), err  # every hint names a flag fill has
    if case == "dangling symlink output":  # refused, and the link is left as it was
        assert (tmp_path / "out.npy").is_symlink() and not (tmp_path / "nowhere.npy").exists()


def test_os_error_while_writing_is_one_line(tmp_path, test_set_file, weights_file, monkeypatch, capsys):
    def refuse(path, write):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("mri_inpaint.fill.atomic_write", refuse)
    rc, captured = _fill(["--input", test_set_file, "--output", tmp_path / "o.npy", "--weights", weights_file], capsys)
    assert rc == 2 and "Permission denied: " in _one_line_error(captured.err) and "o.npy" in captured.err


def test_unexpected_error_is_one_line_unless_asked(tmp_path, test_set_file, weights_file, monkeypatch, capsys):
    monkeypatch.setattr("mri_inpaint.fill.predict", lambda *a, **k: {}["boom"])
    args = ["--input", test_set_file, "--output", tmp_path / "o.npy", "--weights", weights_file]
    rc, captured = _fill(args, capsys)
    assert rc == 2 and "unexpected KeyError" in _one_line_error(captured.err)
    monkeypatch.setenv("MRI_INPAINT_TRACEBACK", "1")
    with pytest.raises(KeyError):
        _fill(args, capsys)


RUN_CASES = ["corrupt cache manifest", "output is a directory", "output under a file", "unknown device",
             "smoke onto the deliverable"]


@pytest.mark.parametrize("case", RUN_CASES)
def test_run_bad_input_is_one_line_before_training(case, tmp_path, test_set_file, monkeypatch, capsys):
    from mri_inpaint.pipeline import image_cache, image_source

    help_text = _help("run", capsys)
    monkeypatch.setattr("mri_inpaint.pipeline.train_or_resume", lambda *a, **k: pytest.fail("training started"))
    args = ["run", "-q", "--preset", "smoke", "--source", "anatomy", "--test-set", str(test_set_file),
            "--data-dir", str(tmp_path / "data"), "--run-dir", str(tmp_path / "run"), "--device", "cpu"]
    if case == "corrupt cache manifest":
        cfg = preset("smoke")
        cfg.data.source = "anatomy"
        cache = image_cache(image_source(cfg.data, Paths.default()), cfg.data.num_images, cfg.data.image_seed,
                            tmp_path / "data")
        cache.root.mkdir(parents=True)
        (cache.root / "manifest.json").write_text("{not json")
        expected = "unreadable"
    elif case == "output is a directory":
        (tmp_path / "o.npy").mkdir()
        args += ["--output", str(tmp_path / "o.npy")]
        expected = "is a directory"
    elif case == "output under a file":
        (tmp_path / "f").write_text("")
        args += ["--output", str(tmp_path / "f" / "o.npy")]
        expected = "which is a file"
    elif case == "unknown device":
        args += ["--device", "tpu"]
        expected = "unknown device"
    else:
        args += ["--output", str(Paths.default().output)]
        expected = "never writes the deliverable"
    assert main(args) == 2
    err = _one_line_error(capsys.readouterr().err)
    assert expected in err
    assert _flags_named(err) <= _flags_named(help_text), err  # every hint names a flag run has


def test_each_preset_has_its_own_run_folder_and_only_full_targets_the_deliverable():
    from mri_inpaint.cli import paths_from_args

    full = paths_from_args(build_parser().parse_args(["run"]))
    smoke = paths_from_args(build_parser().parse_args(["run", "--preset", "smoke"]))
    assert full.run_dir.name == "main" and full.output == Paths.default().output
    assert smoke.run_dir.name == "preset-smoke" and smoke.output == smoke.run_dir / "test_set_nogaps.npy"


def _tracked_copy(src: Path, dst: Path) -> None:
    """Copy the tracked files of the checkout ``src`` (as they are now) into a fresh repository ``dst``."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=src, check=True, capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (src / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dst / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
        subprocess.run([*git, *cmd], cwd=dst, check=True, capture_output=True)


@pytest.mark.slow
def test_smoke_run_in_a_copy_keeps_the_deliverable_and_git_clean(tmp_path, test_set_file):
    """`run --preset smoke` in a copy of the checkout: its fill and figures land in its run folder only."""
    repo = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (repo / ".git").exists():
        pytest.skip("needs git and a checkout")
    copy = tmp_path / "clone"
    _tracked_copy(repo, copy)
    deliverable = (copy / "test_set_nogaps.npy").read_bytes()
    env = {k: v for k, v in os.environ.items() if k not in ("MRI_DATA_DIR", "MRI_TEST_SET")}
    env["PYTHONPATH"] = str(copy)
    argv = [sys.executable, "-m", "mri_inpaint", "run", "--preset", "smoke", "--source", "anatomy", "-q",
            "--device", "cpu", "--test-set", str(test_set_file)]
    proc = subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "cross-fitted" in proc.stdout and "never writes test_set_nogaps.npy" in proc.stdout
    run_dir = copy / "runs" / "preset-smoke"
    assert np.load(run_dir / "test_set_nogaps.npy").shape == (48, 1, 64, 64)
    assert (run_dir / "figures" / "test_filled.png").is_file()
    assert (copy / "test_set_nogaps.npy").read_bytes() == deliverable
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=copy, check=True,
                            capture_output=True, text=True).stdout
    assert status == "", status
    # the full preset's run folder is untouched, so the next full run cannot meet the smoke network
    assert not (copy / "runs" / "main").exists()


def test_run_table_shows_the_cross_fitted_figure(tmp_path, test_set_file, monkeypatch, capsys):
    row = {"method": "biharmonic", "psnr": 25.0, "mae": 0.02, "ssim": 0.9}
    fake = {"new_slices": [row], "real_check": [{"method": "U-Net, final", "psnr": 31.06, "mae": 0.01}],
            "held_out_head": [row], "fill_choice": {"fill": "U-Net, self-trained"},
            "cross_fitted_check": {"before": {"psnr": 28.0, "mae": 0.02}, "after": {"psnr": 30.38, "mae": 0.015},
                                   "folds": 2},
            "output": str(tmp_path / "o.npy")}
    monkeypatch.setattr("mri_inpaint.pipeline.run", lambda *a, **k: fake)
    monkeypatch.setattr("mri_inpaint.evaluate.format_table", lambda rows: "truth table")
    assert main(["run", "-q", "--test-set", str(test_set_file), "--output", str(tmp_path / "o.npy")]) == 0
    out = capsys.readouterr().out
    assert "| U-Net, final | 31.06 |" in out and "| U-Net, self-trained, cross-fitted | 30.38 |" in out
    assert "held-out head robex" in out and "U-Net, self-trained" in out
    assert "in-sample" in out and "never writes" not in out
