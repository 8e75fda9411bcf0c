"""The shipped head assets, the head rebuild on stand-in volumes, and choosing heads."""
import gzip
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mri_inpaint.sources import AnatomyParams, AnatomySource
from mri_inpaint.sources.heads import HEAD_NAMES, HEADS, available_heads

SHIPPED = available_heads()


def test_every_head_is_shipped():
    assert set(SHIPPED) == set(HEAD_NAMES)
    for name in SHIPPED:
        assert HEADS[name].asset_path.stat().st_size < 2_000_000


@pytest.mark.parametrize("name", SHIPPED)
def test_head_asset_layout_orientation_and_framing(name):
    with np.load(HEADS[name].asset_path, allow_pickle=False) as z:
        slices, lateral = z["slices"], z["lateral_mm"]
        assert slices.dtype == np.uint8 and slices.ndim == 3 and slices.shape[1:] == (176, 176)
        assert len(lateral) == len(slices) and lateral[0] < 0 < lateral[-1]
        assert np.array_equal(np.diff(lateral), np.ones(len(lateral) - 1))
        assert str(z["name"]) == name and str(z["kind"]) in ("single", "average")
        extent, frame_mm = float(z["store_extent"]), float(z["frame_mm"])
        assert 180 < frame_mm < 260 and extent == pytest.approx(1.25)
    mid = slices[list(lateral).index(0)].astype(float) / 255
    assert mid.max() > 0.9  # uses the uint8 range
    # The 64-pixel frame inside the stored extent.
    a = int(round(176 * (1 - 1 / extent) / 2))
    frame = mid[a:176 - a, a:176 - a]
    n = frame.shape[0]
    tissue = frame > 0.15
    # Top of the head up: air above the vertex, which sits roughly 9/64 of the frame down.
    rows = np.flatnonzero(tissue.mean(axis=1) > 0.02)
    assert frame[: n // 20].mean() < 0.05
    assert 0.08 * n < rows[0] < 0.2 * n
    # The head spans most of the width (60 of 64 columns when its length is measured).
    cols = np.flatnonzero(tissue[: n * 3 // 4].any(axis=0))
    assert cols[-1] - cols[0] > 0.8 * n
    # Face to the RIGHT. Verified on all 100 test images (face right): the lower-left
    # quarter (cerebellum, back of the neck) is brighter than the lower-right one (face, with
    # dark airways, mouth and sinuses); a mirrored head fails this.
    lower = frame[n // 2:]
    assert lower[:, : n // 2].mean() > lower[:, n // 2:].mean() + 0.02


def _stand_in_head(path, nose=True, zooms=(1.0, 1.0, 1.0), axcodes_flip=False):
    """An ellipsoid 'head' (brighter rim, grey inside) with a bright nose bump at +y (anterior)."""
    import nibabel as nib

    shape = (120, 150, 130)
    x, y, z = np.meshgrid(*(np.arange(s, dtype=np.float32) for s in shape), indexing="ij")
    c = (60, 70, 60)
    r = ((x - c[0]) / 50) ** 2 + ((y - c[1]) / 65) ** 2 + ((z - c[2]) / 55) ** 2
    vol = np.where(r < 1, 0.5, 0.0) + np.where((r > 0.85) & (r < 1), 0.3, 0.0)
    if nose:
        bump = ((x - c[0]) / 8) ** 2 + ((y - (c[1] + 65)) / 14) ** 2 + ((z - (c[2] - 10)) / 12) ** 2
        vol = np.maximum(vol, np.where(bump < 1, 1.0, 0.0))
    affine = np.diag([*zooms, 1.0])
    if axcodes_flip:  # store it L-P-S: the rebuild must undo this through the affine
        vol = vol[::-1, ::-1]
        affine = np.diag([-zooms[0], -zooms[1], zooms[2], 1.0])
    nib.save(nib.Nifti1Image(vol.astype(np.float32), affine), str(path))
    return path


@pytest.mark.parametrize("flip", [False, True])
def test_rebuild_puts_the_nose_on_the_right_and_the_top_up(tmp_path, flip):
    pytest.importorskip("nibabel")
    from tools.build_heads import build

    arrays = build("colin27", _stand_in_head(tmp_path / "head.nii.gz", axcodes_flip=flip))
    slices = arrays["slices"].astype(float)
    mid = slices[len(slices) // 2]
    assert mid.shape == (176, 176)
    rows, cols = np.nonzero(mid > 0.2 * mid.max())
    nose_rows, nose_cols = np.nonzero(mid >= 0.95 * mid.max())  # only the nose is this bright
    assert len(nose_cols) > 20
    assert nose_cols.mean() > cols.mean() + 40  # far right of the head's centre
    assert rows.min() > 10 and mid[:10].max() == 0  # air above the vertex
    assert nose_rows.mean() > rows.min() + 40  # the nose is well below the vertex
    # Lateral slices shrink the ellipsoid's cross-section symmetrically about the found midline.
    k = len(slices) // 2
    assert abs((slices[k - 20] > 50).sum() - (slices[k + 20] > 50).sum()) < 0.05 * (slices[k] > 50).sum()


def test_rebuild_resamples_anisotropic_voxels(tmp_path):
    pytest.importorskip("nibabel")
    from tools.build_heads import load_ras_1mm

    _stand_in_head(tmp_path / "head.nii.gz", zooms=(2.0, 1.0, 1.5))
    vol = load_ras_1mm(tmp_path / "head.nii.gz")
    assert vol.shape == (240, 150, 195) and vol.max() == pytest.approx(1.0)


def _as_minc_json(nifti_path, raw_path):
    """Write a NIfTI stand-in as BrainBrowser's format: gzipped uint8 voxels + JSON MINC header, stored
    like the real one (dimensions x, z, y slowest-first, negative steps, slightly oblique axes)."""
    import nibabel as nib

    from tools.build_heads import minc_header_path

    img = nib.load(str(nifti_path))
    vol = np.asarray(img.dataobj, dtype=np.float32)
    data = np.round(vol / vol.max() * 255).astype(np.uint8)
    data = np.transpose(data, (0, 2, 1))[::-1, ::-1, ::-1]  # (x, z, y), every axis reversed
    angle = np.deg2rad(3.0)  # a small yaw: x and y mix
    cos = {"xspace": [np.cos(angle), np.sin(angle), 0.0], "yspace": [-np.sin(angle), np.cos(angle), 0.0],
           "zspace": [0.0, 0.0, 1.0]}
    header = {"order": ["xspace", "zspace", "yspace"]}
    for axis, dim in enumerate(header["order"]):
        n = data.shape[axis]
        header[dim] = {"start": float(n - 1), "space_length": n, "step": -1.0, "direction_cosines": cos[dim]}
    Path(raw_path).write_bytes(gzip.compress(data.tobytes()))
    minc_header_path(raw_path).write_bytes(gzip.compress(json.dumps(header).encode()))
    return raw_path


def test_minc_json_volume_loads_in_world_orientation(tmp_path):
    pytest.importorskip("nibabel")
    import nibabel as nib

    from tools.build_heads import load_volume

    nifti = _stand_in_head(tmp_path / "head.nii.gz")
    img = load_volume(_as_minc_json(nifti, tmp_path / "head.mnc.raw.gz"))
    assert nib.aff2axcodes(img.affine) == ("L", "I", "P")  # as stored: every step negative
    canon = nib.as_closest_canonical(img)
    assert canon.shape == (120, 150, 130)
    vol = np.asarray(canon.dataobj, dtype=np.float32)
    original = np.asarray(nib.load(str(nifti)).dataobj)
    assert np.corrcoef(vol.ravel(), original.ravel())[0, 1] > 0.99  # same voxels, same places
    with pytest.raises(ValueError, match="header says"):
        (tmp_path / "bad.mnc.raw.gz").write_bytes(gzip.compress(b"123"))
        (tmp_path / "bad.mnc.header.gz").write_bytes((tmp_path / "head.mnc.header.gz").read_bytes())
        load_volume(tmp_path / "bad.mnc.raw.gz")


def test_rebuild_from_a_minc_json_volume_puts_the_nose_right(tmp_path):
    pytest.importorskip("nibabel")
    from tools.build_heads import build

    raw = _as_minc_json(_stand_in_head(tmp_path / "head.nii.gz"), tmp_path / "head.mnc.raw.gz")
    slices = build("brainbrowser", raw)["slices"].astype(float)
    mid = slices[len(slices) // 2]
    rows, cols = np.nonzero(mid > 0.2 * mid.max())
    nose_rows, nose_cols = np.nonzero(mid >= 0.95 * mid.max())
    assert nose_cols.mean() > cols.mean() + 40 and nose_rows.mean() > rows.min() + 40
    assert mid[:10].max() == 0


def test_npm_head_is_taken_from_a_local_package_tarball(tmp_path, monkeypatch):
    import tarfile

    from tools import build_heads

    spec = HEADS["brainbrowser"]
    raw = _as_minc_json(_stand_in_head(tmp_path / "head.nii.gz"), tmp_path / "head.mnc.raw.gz")
    tarball = tmp_path / "raw" / "brainbrowser-2.3.0.tgz"
    tarball.parent.mkdir()
    with tarfile.open(tarball, "w:gz") as tf:
        tf.add(raw, arcname=spec.member)
        tf.add(build_heads.minc_header_path(raw), arcname=str(build_heads.minc_header_path(spec.member)))
    monkeypatch.setattr(build_heads, "_run", lambda *a: pytest.fail("must not call npm: the tarball is there"))
    path = build_heads.fetch("brainbrowser", tmp_path / "raw")
    assert path.read_bytes() == raw.read_bytes()
    assert build_heads.minc_header_path(path).exists()
    # Without the tarball and without npm: a message that says what to do.
    monkeypatch.setattr(build_heads.shutil, "which", lambda _: None)
    with pytest.raises(build_heads.FetchError, match="npm pack brainbrowser@2.3.0"):
        build_heads.fetch("brainbrowser", tmp_path / "elsewhere")


def test_fetch_failure_says_what_to_install(tmp_path, monkeypatch):
    from tools import build_heads

    monkeypatch.setattr(build_heads.shutil, "which", lambda _: None)
    with pytest.raises(build_heads.FetchError, match="apt-get install insighttoolkit5-examples"):
        build_heads.fetch("itk", tmp_path)


def test_choosing_heads_subset_and_exclude():
    only = AnatomySource(AnatomyParams(heads=("colin27", "robex")))
    assert only.head_names == ("colin27", "robex")
    without = AnatomySource(AnatomyParams(exclude=("itk",)))
    assert "itk" not in without.head_names and len(without.head_names) == len(HEAD_NAMES) - 1
    assert only.params()["assets"].keys() == {"colin27", "robex"}
    with pytest.raises(ValueError, match="unknown head"):
        AnatomySource(AnatomyParams(heads=("nope",)))
    with pytest.raises(ValueError, match="no heads left"):
        AnatomySource(AnatomyParams(heads=("itk",), exclude=("itk",)))
    images = only.sample(16, 0)
    assert images.shape == (16, 1, 64, 64)


def test_single_asset_path_still_works():
    source = AnatomySource(asset=HEADS["robex"].asset_path)
    assert source.head_names == ("robex",)
    assert source.sample(4, 1).shape == (4, 1, 64, 64)


def test_params_change_with_heads_weights_and_settings():
    base = AnatomyParams()
    variants = [base, replace(base, exclude=("itk",)), replace(base, head_weights=(("colin27", 2.0),)),
                replace(base, lateral_sigma_mm=5.0), replace(base, heads=("colin27",))]
    dumped = [json.dumps(AnatomySource(p).params(), sort_keys=True) for p in variants]
    assert len(set(dumped)) == len(dumped)


def test_deterministic_and_weights_select_heads():
    source = AnatomySource()
    assert np.array_equal(source.sample(10, 7), AnatomySource().sample(10, 7))
    # A zero weight removes a head: all-colin27 equals the colin27-only source.
    only = AnatomySource(AnatomyParams(heads=("colin27",)))
    zeroed = AnatomySource(AnatomyParams(head_weights=tuple((h, 1.0 if h == "colin27" else 0.0)
                                                            for h in HEAD_NAMES)))
    a, b = only.sample(8, 3), zeroed.sample(8, 3)
    assert np.allclose(a.mean(axis=0), b.mean(axis=0), atol=0.15)


def test_mean_image_has_the_face_on_the_right():
    images = AnatomySource().sample(200, 0)[:, 0]
    mean = images.mean(axis=0)
    assert mean[32:, :32].mean() > mean[32:, 32:].mean() + 0.03  # as in every test image
