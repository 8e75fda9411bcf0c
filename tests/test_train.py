"""Tests for mri_inpaint.train: a tiny run, checkpoints, exact resume, weight loading and export."""
from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

import mri_inpaint.train as train_mod
from conftest import make_smooth_images
from mri_inpaint.masks import DEFAULT_STRIPES, stripe_mask
from mri_inpaint.model import InpaintNet
from mri_inpaint.checkpoint import build_model, load_checkpoint, load_model, save_checkpoint, write_weights
from mri_inpaint.config import TrainConfig
from mri_inpaint.train import train

TINY = TrainConfig(chans=8, num_pool_layers=2, epochs=3, batch_size=8, warmup_steps=2, val_fraction=0.1,
                   amp=False)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return make_smooth_images(64, seed=1)


def _interrupt_at_validation(monkeypatch, after: int) -> None:
    """Make the ``after + 1``-th call of ``validate`` raise KeyboardInterrupt (an interrupted epoch)."""
    real, calls = train_mod.validate, []

    def flaky(model, loader):
        calls.append(1)
        if len(calls) > after:
            raise KeyboardInterrupt
        return real(model, loader)
    monkeypatch.setattr(train_mod, "validate", flaky)


def _val_metrics(history):
    return [{k: v for k, v in row.items() if k.startswith("val_") or k in ("epoch", "train_l1_gaps", "lr")}
            for row in history]


@pytest.fixture(scope="module")
def mask_module() -> np.ndarray:
    """The default stripe mask (module scope, unlike the ``mask`` fixture)."""
    return stripe_mask(DEFAULT_STRIPES)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, images, mask_module):
    """An uninterrupted 3-epoch run (shared by the tests below, which only read it)."""
    run_dir = tmp_path_factory.mktemp("run_a")
    state = train(TINY, images, mask_module, run_dir, progress=False, device="cpu")
    return run_dir, state


# ---------------------------------------------------------------- training
def test_tiny_training_writes_checkpoints_and_history(full_run):
    run_dir, state = full_run
    for name in ("last.pt", "best.pt", "history.json", "history.csv"):
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.glob("*.tmp"))
    history = json.loads((run_dir / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert all(np.isfinite(row["val_psnr_gaps"]) for row in history)
    assert (run_dir / "history.csv").read_text().splitlines()[0].split(",")[:2] == ["epoch", "train_l1_gaps"]
    assert len((run_dir / "history.csv").read_text().splitlines()) == 4
    assert state["resume"]["epoch"] == 2 and state["config"] == asdict(TINY)
    assert state["resume"]["best_val"] == max(row["val_psnr_gaps"] for row in history)
    last = load_checkpoint(run_dir / "last.pt")
    assert last["resume"]["epoch"] == 2 and last["model_args"] == {"chans": 8, "num_pool_layers": 2,
                                                                    "test_time_shifts": TINY.test_time_shifts}
    assert set(last) == {"model", "model_args", "config", "history", "metrics", "resume"}
    best = load_checkpoint(run_dir / "best.pt")
    best_epoch = best["resume"]["epoch"]
    assert best["history"][best_epoch]["val_psnr_gaps"] == best["resume"]["best_val"] == state["resume"]["best_val"]


def test_training_improves_on_row_interpolation(full_run, images, mask_module):
    from mri_inpaint.dataset import make_train_loaders
    _, state = full_run
    _, val = make_train_loaders(images, mask_module, batch_size=8, val_fraction=TINY.val_fraction)
    before = train_mod.validate(InpaintNet(chans=8, num_pool_layers=2), val)["mae_gaps"]
    after = train_mod.validate(build_model(state), val)["mae_gaps"]
    assert after < before


def test_existing_run_without_resume_is_refused(full_run, images, mask_module):
    run_dir, _ = full_run
    before = (run_dir / "last.pt").read_bytes()
    with pytest.raises(FileExistsError, match="--resume"):
        train(TINY, images, mask_module, run_dir, progress=False)
    assert (run_dir / "last.pt").read_bytes() == before


def test_resume_matches_uninterrupted_run(full_run, tmp_path, images, mask_module, monkeypatch):
    _, reference = full_run
    with monkeypatch.context() as m:
        _interrupt_at_validation(m, after=1)
        with pytest.raises(KeyboardInterrupt):
            train(TINY, images, mask_module, tmp_path, progress=False)
    assert load_checkpoint(tmp_path / "last.pt")["resume"]["epoch"] == 0  # only epoch 1 was saved
    torch.manual_seed(999)  # global RNG state after an interruption is arbitrary
    state = train(TINY, images, mask_module, tmp_path, resume=True, progress=False)
    assert state["resume"]["epoch"] == reference["resume"]["epoch"] == 2
    assert state["model"].keys() == reference["model"].keys()
    for k, v in reference["model"].items():
        assert torch.equal(state["model"][k], v), k
    assert _val_metrics(state["history"]) == _val_metrics(reference["history"])
    assert state["resume"]["best_val"] == reference["resume"]["best_val"]
    # resuming a finished run does nothing and returns its last state
    again = train(TINY, images, mask_module, tmp_path, resume=True, progress=False)
    assert again["resume"]["epoch"] == 2 and len(again["history"]) == 3


def test_resume_in_empty_dir_starts_fresh(tmp_path, images, mask_module):
    cfg = replace(TINY, epochs=1)
    state = train(cfg, images, mask_module, tmp_path / "new", resume=True, progress=False)
    assert len(state["history"]) == 1 and (tmp_path / "new" / "last.pt").is_file()


def test_epochs_are_validated_and_checked_with_the_plain_fill(tmp_path, images, mask_module):
    """Validation and the epoch hook see one window, whatever the fill's shift averaging."""
    seen = []
    cfg = replace(TINY, epochs=1, test_time_shifts=4)
    state = train(cfg, images, mask_module, tmp_path, progress=False, device="cpu",
                  on_epoch=lambda model, row: seen.append(model.test_time_shifts) or {})
    model = build_model(load_checkpoint(tmp_path / "last.pt"))
    assert seen == [1] and model.test_time_shifts == 4
    _, val_loader = train_mod.make_train_loaders(images, mask_module, batch_size=cfg.batch_size,
                                                 val_fraction=cfg.val_fraction, shift_prob=cfg.shift_prob,
                                                 seed=cfg.seed)
    plain = train_mod.validate(train_mod.with_shifts(model, 1), val_loader)["psnr_gaps"]
    averaged = train_mod.validate(model, val_loader)["psnr_gaps"]
    assert state["history"][0]["val_psnr_gaps"] == pytest.approx(plain, abs=1e-6)
    assert plain != pytest.approx(averaged, abs=1e-6)


def test_resume_with_other_architecture_is_refused(full_run, tmp_path, images, mask_module):
    run_dir, _ = full_run
    (tmp_path / "last.pt").write_bytes((run_dir / "last.pt").read_bytes())
    with pytest.raises(ValueError, match=r"trained with .*pass another --run-dir .*or delete"):
        train(replace(TINY, chans=16), images, mask_module, tmp_path, resume=True, progress=False)


def test_resume_log_names_the_next_epoch(full_run, tmp_path, images, mask_module, caplog):
    run_dir, _ = full_run
    for name in ("last.pt", "best.pt"):
        (tmp_path / name).write_bytes((run_dir / name).read_bytes())
    with caplog.at_level("INFO", logger="mri_inpaint"):
        train(replace(TINY, epochs=4), images, mask_module, tmp_path, resume=True, progress=False, device="cpu")
    assert "3 of 4 epochs done, next is epoch 4" in caplog.text
    assert "epoch 4:" in caplog.text and "epoch 3:" not in caplog.text


def test_resume_ignores_the_fills_shift_averaging(full_run, tmp_path, images, mask_module):
    """A finished run resumes (does nothing) under another test_time_shifts: the weights are the same."""
    run_dir, state = full_run
    (tmp_path / "last.pt").write_bytes((run_dir / "last.pt").read_bytes())
    other = 1 if TINY.test_time_shifts != 1 else 2
    again = train(replace(TINY, test_time_shifts=other), images, mask_module, tmp_path, resume=True, progress=False)
    assert again["resume"]["epoch"] == state["resume"]["epoch"] and len(again["history"]) == len(state["history"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_resume_on_cuda(tmp_path, images, mask_module, monkeypatch):
    cfg = replace(TINY, epochs=2, amp=True)
    with monkeypatch.context() as m:
        _interrupt_at_validation(m, after=1)
        with pytest.raises(KeyboardInterrupt):
            train(cfg, images, mask_module, tmp_path, progress=False, device="cuda")
    state = train(cfg, images, mask_module, tmp_path, resume=True, progress=False, device="cuda")
    assert len(state["history"]) == 2
    assert next(iter(state["model"].values())).is_cuda


# ---------------------------------------------------------------- checkpoints
def test_load_checkpoint_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("content", [b"", b"garbage, not a torch file" * 10])
def test_load_checkpoint_garbage(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(path)


def test_load_checkpoint_truncated(full_run, tmp_path):
    run_dir, _ = full_run
    data = (run_dir / "best.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(tmp_path / "cut.pt")


def test_load_checkpoint_foreign_dict(tmp_path):
    save_checkpoint(tmp_path / "other.pt", {"weights": torch.zeros(3)})
    with pytest.raises(ValueError, match="not a checkpoint of this project"):
        load_checkpoint(tmp_path / "other.pt")


@pytest.mark.parametrize("model_args", [{"chans": 16, "num_pool_layers": 2},
                                        {"chans": 8, "num_pool_layers": 3},
                                        {"chans": 8, "depth": 2}])
def test_build_model_mismatched_args(model_args):
    state = {"model": InpaintNet(chans=8, num_pool_layers=2).state_dict(), "model_args": model_args}
    with pytest.raises(ValueError, match="do not fit"):
        build_model(state)


def test_weights_file_is_small_and_loadable(full_run, tmp_path, corrupted_images, mask_module):
    run_dir, state = full_run
    path = tmp_path / "sub" / "weights.pt"
    write_weights(path, build_model(state), config=state["config"], history=state["history"],
                  metrics={"val": state["history"][-1]})
    small = torch.load(path, weights_only=True)  # plain tensors and python values only
    assert set(small) == {"model", "model_args", "config", "history", "metrics"}
    assert small["metrics"]["val"]["epoch"] == 3 and len(small["history"]) == 3
    assert path.stat().st_size < (run_dir / "last.pt").stat().st_size
    model = load_model(path)
    assert not model.training
    for k, v in state["model"].items():
        assert torch.equal(model.state_dict()[k], v)
    x, m = torch.from_numpy(corrupted_images[:2]), torch.from_numpy(mask_module)
    with torch.no_grad():
        assert torch.equal(model(x, m), build_model(state)(x, m))


def test_checkpoints_lacking_a_key_are_refused(tmp_path):
    model = InpaintNet(chans=8, num_pool_layers=2)
    save_checkpoint(tmp_path / "old.pt", {"model": model.state_dict(), "model_args": model.model_args})
    with pytest.raises(ValueError, match="expected keys model, model_args, config, history, metrics"):
        load_checkpoint(tmp_path / "old.pt")


def test_on_epoch_hook_adds_scores_to_the_log(tmp_path, images, mask_module):
    calls = []

    def hook(model, row):
        calls.append(row["epoch"])
        assert isinstance(model, InpaintNet)
        return {"extra_score": float(row["epoch"]) * 2}
    state = train(replace(TINY, epochs=2), images, mask_module, tmp_path, progress=False, on_epoch=hook)
    assert calls == [1, 2]
    assert [r["extra_score"] for r in state["history"]] == [2.0, 4.0]


def test_extra_loss_is_added_to_every_step(tmp_path, images, mask_module):
    calls = []

    def extra(model):
        calls.append(model.training)
        return sum(p.sum() for p in model.parameters()) * 0.0 + 1.0  # a constant: steps unchanged, loss +1
    plain = train(replace(TINY, epochs=1), images, mask_module, tmp_path / "plain", progress=False)
    state = train(replace(TINY, epochs=1), images, mask_module, tmp_path / "extra", progress=False, extra_loss=extra)
    steps = len(images) - round(len(images) * TINY.val_fraction)
    assert calls == [True] * (steps // TINY.batch_size)  # once per step, in train mode
    gap = state["history"][0]["train_l1_gaps"] - plain["history"][0]["train_l1_gaps"]
    assert gap == pytest.approx(1.0, abs=1e-5)  # the logged loss includes it; the weights follow the same path
