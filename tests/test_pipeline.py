"""Tests for mri_inpaint.pipeline steps that the end-to-end CLI tests do not pin down."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mri_inpaint.config import AdaptConfig, preset, with_overrides
from mri_inpaint.model import InpaintNet
from mri_inpaint.paths import Paths
from mri_inpaint.pipeline import (TestInputs, adapt_to_test_images, anchor_images, check_network, demo_inputs,
                                  fill_and_write, image_source, output_path, train_or_resume)


def test_image_source_selects_embedded_heads_and_never_the_held_out_one():
    cfg = with_overrides(preset(), data={"source": "anatomy", "heads": "colin27, itk", "held_out_head": ""})
    assert image_source(cfg.data, Paths.default()).head_names == ("colin27", "itk")
    everything = image_source(with_overrides(preset(), data={"source": "anatomy"}).data, Paths.default())
    assert len(everything.head_names) >= 3
    assert preset().data.held_out_head not in everything.head_names
    named = with_overrides(preset(), data={"source": "anatomy", "heads": "colin27,robex", "held_out_head": "robex"})
    assert image_source(named.data, Paths.default()).head_names == ("colin27",)


def test_anchor_images_are_the_first_training_images():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    assert np.array_equal(anchor_images(images, AdaptConfig(num_anchors=4)), images[:4])
    assert len(anchor_images(images, AdaptConfig(num_anchors=40))) == 10


def test_demo_input_never_targets_the_deliverable(tmp_path):
    paths = Paths.default(tmp_path)
    demo, clean = demo_inputs(n=4)
    assert demo.demo and demo.path is None and clean.shape == (4, 1, 64, 64)
    assert output_path(paths, demo) == paths.run_dir / "demo_nogaps.npy"
    real = TestInputs(demo.images, demo.mask, tmp_path / "test_set.npy")
    assert output_path(paths, real) == paths.output


def test_fill_and_write_keeps_the_previous_output(tmp_path, corrupted_images, mask):
    test = TestInputs(corrupted_images[:4], mask, tmp_path / "test_set.npy")
    out = tmp_path / "out.npy"
    np.save(out, np.full((4, 1, 64, 64), 0.5, np.float32))
    torch.manual_seed(0)
    filled = fill_and_write(InpaintNet(chans=8), test, out, keep_previous_in=tmp_path / "run")
    assert np.array_equal(np.load(out), filled)
    (copy,) = (tmp_path / "run").glob("out.*.npy")  # named with the time
    assert np.all(np.load(copy) == 0.5)
    observed = ~np.broadcast_to(mask, filled.shape)
    assert np.array_equal(filled[observed], corrupted_images[:4][observed])
    fill_and_write(InpaintNet(chans=8), test, out, keep_previous_in=tmp_path / "run")  # the next run keeps both
    copies = sorted((tmp_path / "run").glob("out.*.npy"))
    assert len(copies) == 2 and np.all(np.load(copy) == 0.5) and any(np.array_equal(np.load(c), filled) for c in copies)


def test_fill_and_write_can_refuse_an_existing_output_and_keep_a_flat_layout(tmp_path, corrupted_images, mask):
    test = TestInputs(corrupted_images[:3], mask, tmp_path / "test_set.npy")
    out = tmp_path / "out.npy"
    torch.manual_seed(0)
    filled = fill_and_write(InpaintNet(chans=8), test, out, squeeze=True)
    assert filled.shape == (3, 64, 64) and np.array_equal(np.load(out), filled)
    with pytest.raises(FileExistsError, match="--overwrite"):
        fill_and_write(InpaintNet(chans=8), test, out, overwrite=False)


def test_check_network_is_the_label_free_check_of_the_test_images(corrupted_images, mask):
    from mri_inpaint.check import real_image_check

    torch.manual_seed(0)
    model = InpaintNet(chans=8)
    test = TestInputs(corrupted_images[:4], mask, None)
    assert check_network(model, test) == real_image_check(model, corrupted_images[:4], mask)


def test_train_or_resume_uses_the_state_train_returns(tmp_path, clean_images, corrupted_images, mask, monkeypatch):
    import mri_inpaint.checkpoint as checkpoint_mod

    cfg = with_overrides(preset("smoke"), train={"epochs": 2}, device="cpu")
    paths = Paths.default(tmp_path)
    test = TestInputs(corrupted_images[:4], mask, tmp_path / "test_set.npy")
    loads = []
    real_load = checkpoint_mod.load_checkpoint
    monkeypatch.setattr(checkpoint_mod, "load_checkpoint", lambda path, **kw: loads.append(path) or real_load(path, **kw))
    model, state = train_or_resume(cfg, clean_images, test, paths, progress=False)
    scores = [row["val_psnr_gaps"] for row in state["history"]]
    assert len(scores) == 2 and all("real_check_psnr" in row for row in state["history"])
    best = real_load(paths.run_dir / "best.pt")
    assert best["history"][-1]["epoch"] == 1 + scores.index(max(scores))  # the best epoch's weights come back
    x, m = torch.from_numpy(corrupted_images[:2]), torch.from_numpy(mask)
    with torch.no_grad():
        from mri_inpaint.checkpoint import build_model
        assert torch.equal(model(x, m), build_model(best)(x, m))
    assert paths.run_dir / "last.pt" not in loads  # the history comes from train(), not from disk
    assert loads == ([] if scores[-1] == max(scores) else [paths.run_dir / "best.pt"])


def test_a_run_is_not_resumed_on_other_training_images(tmp_path, clean_images, corrupted_images, mask):
    cfg = with_overrides(preset("smoke"), train={"epochs": 1}, device="cpu")
    paths = Paths.default(tmp_path)
    test = TestInputs(corrupted_images[:4], mask, tmp_path / "test_set.npy")
    train_or_resume(cfg, clean_images, test, paths, progress=False)
    last = (paths.run_dir / "last.pt").read_bytes()
    with pytest.raises(ValueError, match="the training images"):  # same settings, a changed image source
        train_or_resume(cfg, clean_images[::-1].copy(), test, paths, progress=False)
    assert (paths.run_dir / "last.pt").read_bytes() == last
    train_or_resume(cfg, clean_images, test, paths, progress=False)  # the same images resume (nothing to do)
    assert (paths.run_dir / "last.pt").read_bytes() == last


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown train setting"):
        with_overrides(preset(), train={"epoch": 3})


def test_adaptation_is_cross_fitted_and_reused(tmp_path, corrupted_images, clean_images, mask, monkeypatch):
    cfg = with_overrides(preset("smoke"), adapt={"steps": 2, "folds": 2})
    paths = Paths.default(tmp_path)
    test = TestInputs(corrupted_images[:6], mask, tmp_path / "test_set.npy")
    torch.manual_seed(0)
    model = InpaintNet(chans=8)
    final, cross = adapt_to_test_images(cfg, model, test, clean_images[:8], paths, progress=False)
    assert isinstance(final, InpaintNet) and final is not model
    assert cross["folds"] == 2 and np.isfinite(cross["after"]["psnr"])
    assert (paths.run_dir / "adapted.pt").is_file()

    import mri_inpaint.adapt as adapt_mod
    monkeypatch.setattr(adapt_mod, "self_train", lambda *a, **k: pytest.fail("a finished adaptation is redone"))
    again, cross_again = adapt_to_test_images(cfg, model, test, clean_images[:8], paths, progress=False)
    assert cross_again == cross
    x, m = torch.from_numpy(corrupted_images[:2]), torch.from_numpy(mask)
    with torch.no_grad():
        assert torch.equal(again(x, m), final(x, m))
    monkeypatch.undo()

    single, none = adapt_to_test_images(with_overrides(cfg, adapt={"folds": 0}), model, test, clean_images[:8],
                                        Paths.default(tmp_path / "b"), progress=False)
    assert isinstance(single, InpaintNet) and none is None


def test_adapted_weights_are_reused_only_for_the_same_weights_and_test_images(tmp_path, corrupted_images,
                                                                              clean_images, mask, caplog):
    cfg = with_overrides(preset("smoke"), adapt={"steps": 1, "folds": 0})
    paths = Paths.default(tmp_path)
    test = TestInputs(corrupted_images[:4], mask, tmp_path / "test_set.npy")
    torch.manual_seed(0)
    first, other = InpaintNet(chans=8), InpaintNet(chans=8)
    adapted, _ = adapt_to_test_images(cfg, first, test, clean_images[:8], paths, progress=False)
    caplog.set_level("INFO", logger="mri_inpaint.pipeline")
    again, _ = adapt_to_test_images(cfg, other, test, clean_images[:8], paths, progress=False)  # other weights
    assert "starting weights differ" in caplog.text
    x, m = torch.from_numpy(corrupted_images[:2]), torch.from_numpy(mask)
    with torch.no_grad():
        assert not torch.equal(again(x, m), adapted(x, m))
    caplog.clear()
    changed = TestInputs(corrupted_images[4:8], mask, test.path)  # same path, other content
    adapt_to_test_images(cfg, other, changed, clean_images[:8], paths, progress=False)
    assert "test images and mask differ" in caplog.text
    caplog.clear()
    adapt_to_test_images(cfg, other, changed, clean_images[:8], paths, progress=False)
    assert "reusing the adapted weights" in caplog.text


def test_the_network_that_fills_the_deliverable_becomes_the_committed_weights(tmp_path, monkeypatch):
    import mri_inpaint.paths as paths_module
    from mri_inpaint.pipeline import ship_weights

    final, weights, out = tmp_path / "final.pt", tmp_path / "weights" / "inpaint_unet.pt", tmp_path / "out.npy"
    final.write_bytes(b"network")
    weights.parent.mkdir()
    monkeypatch.setattr(paths_module, "DEFAULT_WEIGHTS", weights)
    monkeypatch.setattr(paths_module, "deliverable", lambda: tmp_path / "test_set_nogaps.npy")
    assert ship_weights(final, out) is None and not weights.exists()  # another output: nothing shipped
    assert ship_weights(final, tmp_path / "sub" / ".." / "test_set_nogaps.npy") == weights
    assert weights.read_bytes() == b"network"


def test_held_out_evidence_is_kept_and_reused_for_the_same_network_only(tmp_path, clean_images, mask):
    from mri_inpaint.pipeline import held_out_evidence

    cfg = with_overrides(preset("smoke"), data={"held_out_images": 4}, adapt={"steps": 1})
    calls = []

    def counting_self_train(*args, **kwargs):
        from mri_inpaint.adapt import self_train
        calls.append(1)
        return self_train(*args, **kwargs)

    torch.manual_seed(0)
    model, cache = InpaintNet(chans=8).eval(), tmp_path / "held_out_evidence.npz"
    rows, choice, slices = held_out_evidence(cfg, model, mask, clean_images[:8], progress=False,
                                             self_train=counting_self_train, cache=cache)
    assert cache.is_file() and len(calls) == 1 and slices["filled"].shape == slices["clean"].shape == (4, 1, 64, 64)
    again = held_out_evidence(cfg, model, mask, clean_images[:8], progress=False, self_train=counting_self_train,
                              cache=cache)
    assert len(calls) == 1  # read back, not self-trained again
    assert again[0] == json.loads(json.dumps(rows, default=lambda v: np.asarray(v).tolist())) and again[1] == choice
    np.testing.assert_array_equal(again[2]["filled"], slices["filled"])
    torch.manual_seed(1)
    held_out_evidence(cfg, InpaintNet(chans=8).eval(), mask, clean_images[:8], progress=False,
                      self_train=counting_self_train, cache=cache)
    assert len(calls) == 2  # another network: computed again
