"""Tests for mri_inpaint.pipeline steps that the end-to-end CLI tests do not pin down."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mri_inpaint.config import AdaptConfig, Paths, preset, with_overrides
from mri_inpaint.model import InpaintNet
from mri_inpaint.pipeline import (TestInputs, anchor_images, demo_inputs, fill_and_write, image_source,
                                  output_path)


def test_image_source_selects_embedded_heads():
    cfg = with_overrides(preset(), data={"source": "anatomy", "heads": "colin27, robex"})
    assert image_source(cfg.data, Paths.default()).head_names == ("colin27", "robex")
    everything = image_source(with_overrides(preset(), data={"source": "anatomy"}).data, Paths.default())
    assert len(everything.head_names) >= 3


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
    assert np.all(np.load(tmp_path / "run" / "previous_out.npy") == 0.5)
    observed = ~np.broadcast_to(mask, filled.shape)
    assert np.array_equal(filled[observed], corrupted_images[:4][observed])


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown train setting"):
        with_overrides(preset(), train={"epoch": 3})
