"""Rebuild the embedded anatomy asset from Debian's ``mricron-data`` package.

The asset holds sagittal slices of the Colin27 whole-head T1 volume (``ch2.nii.gz``,
1 mm isotropic, BSD-style licence), turned to the test images' orientation (face to the
left, top of the head up) and framed like them, stored as uint8 at 1.5 mm per pixel.

Run ``apt-get install mricron-data && python -m mri_inpaint.sources.build_anatomy``.
Needs ``nibabel`` (build time only); run time needs only the ``.npz``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import ndimage

DEFAULT_VOLUME = Path("/usr/share/mricron/templates/ch2.nii.gz")
from .anatomy import ASSET_PATH  # noqa: E402  (where the asset is read from)

#: Canonical frame, measured on the test images: the head spans ~60 of 64 columns and
#: its vertex sits ~9 rows below the top edge, i.e. a 213 mm square view for Colin27.
FRAME_MM = 213.0
VERTEX_MARGIN_MM = 30.0
#: The stored slices extend the frame by this factor on every side, for augmentation.
STORE_EXTENT = 1.25
STORE_PIXELS = 176
#: Sagittal slices kept: within this distance of the midline (mm).
MAX_LATERAL_MM = 60


def build(volume_path: Path = DEFAULT_VOLUME) -> dict[str, np.ndarray]:
    """Slice, orient, frame and quantise the volume; return the asset's arrays."""
    import nibabel as nib

    if not volume_path.exists():
        raise FileNotFoundError(
            f"{volume_path} not found: install Debian's mricron-data package (apt-get install mricron-data)")
    img = nib.as_closest_canonical(nib.load(str(volume_path)))  # RAS axes
    vol = img.get_fdata(dtype=np.float32)
    if not np.allclose(img.header.get_zooms()[:3], 1.0):
        raise ValueError(f"expected a 1 mm isotropic volume, got voxel sizes {img.header.get_zooms()[:3]}")
    head = ndimage.binary_closing(ndimage.gaussian_filter(vol, 2) > 0.1 * vol.max(), iterations=3)
    xs, ys, zs = (np.flatnonzero(head.any(axis=a)) for a in ((1, 2), (0, 2), (0, 1)))
    mid_x = int(round((xs[0] + xs[-1]) / 2))
    centre_y = (ys[0] + ys[-1]) / 2
    top_z = zs[-1] + VERTEX_MARGIN_MM
    # Output grid (rows top->bottom = superior->inferior, cols left->right = anterior->posterior).
    side = FRAME_MM * STORE_EXTENT
    step = side / STORE_PIXELS
    centre_z = top_z - FRAME_MM / 2
    rows = centre_z + side / 2 - (np.arange(STORE_PIXELS) + 0.5) * step
    cols = centre_y + side / 2 - (np.arange(STORE_PIXELS) + 0.5) * step
    zz, yy = np.meshgrid(rows, cols, indexing="ij")
    slices, offsets = [], []
    smooth = ndimage.gaussian_filter(vol, sigma=(0, 0.5, 0.5))  # anti-alias before 1.5 mm sampling
    # The volume stops just below the cerebellum; reflecting it downwards continues the neck
    # instead of leaving a flat cut (elsewhere the volume's surroundings are air: zeros).
    pad = int(np.ceil(max(0.0, -rows.min()))) + 2
    smooth = np.pad(smooth, ((0, 0), (0, 0), (pad, 0)), mode="reflect")
    for x in range(mid_x - MAX_LATERAL_MM, mid_x + MAX_LATERAL_MM + 1):
        plane = ndimage.map_coordinates(smooth[x], [yy, zz + pad], order=1, cval=0.0)
        slices.append(plane)
        offsets.append(x - mid_x)
    stack = np.stack(slices)
    scale = np.percentile(stack, 99.9)
    quantised = np.clip(np.round(stack / scale * 255), 0, 255).astype(np.uint8)
    return {"slices": quantised, "lateral_mm": np.asarray(offsets, dtype=np.int16),
            "pixel_mm": np.float32(step), "store_extent": np.float32(STORE_EXTENT)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--volume", type=Path, default=DEFAULT_VOLUME, help="whole-head T1 NIfTI volume, 1 mm")
    parser.add_argument("--out", type=Path, default=ASSET_PATH, help="output .npz asset")
    args = parser.parse_args(argv)
    arrays = build(args.volume)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(arrays['slices'])} slices)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
