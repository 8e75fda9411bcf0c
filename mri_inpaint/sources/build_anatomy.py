"""Rebuild the Colin27 head asset (kept for compatibility; see ``build_heads.py`` for all heads).

    apt-get install mricron-data && python -m mri_inpaint.sources.build_anatomy

The asset holds sagittal slices of the Colin27 whole-head T1 volume (``ch2.nii.gz``,
1 mm isotropic, BSD-style licence) turned to the test images' orientation (face to the
RIGHT, top of the head up), framed like them, stored as uint8.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .anatomy import ASSET_PATH
from .build_heads import save
from .build_heads import build as build_head
from .heads import HEADS

DEFAULT_VOLUME = Path(HEADS["colin27"].system_path)


def build(volume_path: Path = DEFAULT_VOLUME) -> dict[str, np.ndarray]:
    """Slice, orient, frame and quantise the Colin27 volume; return the asset's arrays."""
    if not Path(volume_path).exists():
        raise FileNotFoundError(
            f"{volume_path} not found: install Debian's mricron-data package (apt-get install mricron-data)")
    return build_head("colin27", Path(volume_path))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volume", type=Path, default=DEFAULT_VOLUME, help="whole-head T1 NIfTI volume, 1 mm")
    parser.add_argument("--out", type=Path, default=ASSET_PATH, help="output .npz asset")
    args = parser.parse_args(argv)
    arrays = build(args.volume)
    save(arrays, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(arrays['slices'])} slices)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
