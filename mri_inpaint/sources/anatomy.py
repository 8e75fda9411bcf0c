"""Embedded training-image source: augmented sagittal slices of several real heads.

Each image is a sagittal slice of one of the embedded heads (see ``heads.py`` and
``tools/build_heads.py``: single scans and averaged templates, face to the right, framed like
the test images), drawn by per-head weight at a lateral position drawn from a truncated
Gaussian about the midline, interpolated between neighbouring 1 mm slices, warped by a
random affine and a smooth elastic field (optionally faded towards the head's outline, see
``AnatomyParams.elastic_edge_px``), given a random monotone intensity curve and
bias field (averaged templates also a fine texture), blurred, noised, area-downsampled to
64x64 and min-max normalised - all in batched PyTorch ops.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..fidelity import framing_stats
from ..warps import smooth_field, uniform_draws
from .base import IMAGE_SIZE, minmax_normalise
from .heads import HEAD_NAMES, HEADS

#: The Colin27 asset (face right), rebuilt by ``python -m tools.build_heads --head colin27``.
ASSET_PATH = HEADS["colin27"].asset_path

#: Sampling weight per head. The averaged templates get a fine texture instead of a lower
#: weight (they match the test images' mean best); the ITK head's field of view cuts its face.
DEFAULT_HEAD_WEIGHTS = (("colin27", 1.0), ("robex", 1.0), ("itk", 0.7), ("brainbrowser", 1.0), ("mni152", 1.0),
                        ("pydeface", 1.0))
#: Per-head framing corrections (zoom, x shift, y shift) fitted so that each head's mean first
#: and last column with tissue and first row with tissue are the test images' (``bench/framing.py``,
#: :func:`~mri_inpaint.fidelity.framing_stats`), with ``head_aspect``.
DEFAULT_HEAD_FRAMING = (("colin27", 0.991, 0.002, 0.139), ("robex", 1.093, -0.06, 0.063),
                        ("itk", 1.153, 0.009, 0.02), ("brainbrowser", 1.02, -0.008, 0.116),
                        ("mni152", 1.011, -0.002, 0.133), ("pydeface", 1.059, -0.039, 0.089))


@dataclass(frozen=True)
class AnatomyParams:
    """Variation of the embedded source; defaults matched to the test images' observed pixels.

    ``heads`` and ``exclude`` choose the heads (e.g. ``AnatomyParams(exclude=("itk",))``
    for a leave-one-head-out run); ``head_weights`` gives each head's sampling weight
    (heads not listed weigh 1).
    """

    max_lateral_mm: float = 30.0  #: sagittal positions kept within +-this of the midline
    rotation_deg: float = 3.0  #: in-plane rotation drawn from +-this
    scale_range: tuple[float, float] = (0.95, 1.05)  #: zoom (>1 enlarges the head)
    aspect_jitter: float = 0.04  #: independent vertical/horizontal scale jitter (fraction)
    #: vertical over horizontal scale of every head: the test heads are flatter than the embedded ones
    head_aspect: float = 0.85
    shift_frac: float = 0.015  #: translation, fraction of the frame
    elastic_frac: float = 0.1  #: elastic displacement amplitude, fraction of the frame
    elastic_knots: int = 5  #: knots per side of the elastic field's grid (fewer: smoother, rounder skulls)
    #: width (pixels at 64) over which the elastic field fades to zero towards the head's outline
    #: (0: no fade): the inside bends, the outline keeps the affine's round shape
    elastic_edge_px: float = 0.0
    outline_elastic_frac: float = 0.0  #: a second elastic field on a 3x3 grid, not faded: bends the outline gently
    #: (low, high) crown ratio (:func:`~mri_inpaint.fidelity.framing_stats` on the warped head) outside
    #: which an image's elastic field is redrawn, up to ``elastic_redraws`` times, then left out:
    #: a warp that pinches or flattens the crown is refused (None: every field kept)
    crown_ratio_range: tuple[float, float] | None = None
    elastic_redraws: int = 8  #: redraws per image for ``crown_ratio_range``
    gamma_range: tuple[float, float] = (0.95, 1.45)  #: intensity gamma
    curve_jitter: float = 0.06  #: extra random monotone intensity-curve deviation
    bias_field: float = 0.15  #: multiplicative smooth bias amplitude
    blur_sigma_range: tuple[float, float] = (0.0, 0.2)  #: Gaussian blur at 64 px (pixels)
    noise_range: tuple[float, float] = (0.004, 0.015)  #: Rician noise sigma (after scaling to [0,1])
    heads: tuple[str, ...] = HEAD_NAMES  #: heads to draw from (see ``heads.HEADS``)
    exclude: tuple[str, ...] = ()  #: heads left out (applied after ``heads``)
    head_weights: tuple[tuple[str, float], ...] = DEFAULT_HEAD_WEIGHTS  #: (name, weight) pairs
    lateral_sigma_mm: float = 2.0  #: std of the Gaussian lateral position (0: uniform within the max)
    average_texture: float = 0.08  #: fine multiplicative texture on averaged-template heads
    #: per-head framing correction (name, zoom, x shift, y shift), shifts in frame halves
    #: (+x moves the view right, i.e. the head left); heads not listed: (1, 0, 0)
    head_framing: tuple[tuple[str, float, float, float], ...] = DEFAULT_HEAD_FRAMING

    @classmethod
    def from_overrides(cls, overrides: dict, **fields) -> "AnatomyParams":
        """The defaults with ``overrides`` (e.g. parsed JSON: lists become tuples) and ``fields`` applied."""
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        return cls(**{**values, **fields})

    def head_names(self) -> tuple[str, ...]:
        """The heads drawn from, in order."""
        return tuple(h for h in self.heads if h not in set(self.exclude))

    def weight(self, head: str) -> float:
        return float(dict(self.head_weights).get(head, 1.0))

    def framing(self, head: str) -> tuple[float, float, float]:
        for name, zoom, dx, dy in self.head_framing:
            if name == head:
                return float(zoom), float(dx), float(dy)
        return 1.0, 0.0, 0.0


def _jsonable(value):
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


@lru_cache(maxsize=16)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _missing(path: Path, head: str | None) -> FileNotFoundError:
    which = f" --head {head}" if head else ""
    return FileNotFoundError(
        f"embedded anatomy asset {path} is missing: reinstall the package, or rebuild it with "
        f"`python -m tools.build_heads{which}` from the repository root")


@lru_cache(maxsize=16)
def _load_asset(path: str) -> tuple[torch.Tensor, torch.Tensor, float, str]:
    """``(slices (S,H,W) float in [0,1], lateral_mm (S,), store_extent, kind)`` of one asset."""
    if not Path(path).exists():
        raise _missing(Path(path), None)
    with np.load(path, allow_pickle=False) as z:
        slices = torch.from_numpy(z["slices"].astype(np.float32) / 255.0)
        lateral = torch.from_numpy(z["lateral_mm"].astype(np.float32))
        extent = float(z["store_extent"])
        kind = str(z["kind"]) if "kind" in z.files else "single"
    return slices, lateral, extent, kind


def _gaussian_blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-image isotropic Gaussian blur; ``sigma`` ``(N,)`` in pixels (0 leaves the image)."""
    radius = 3
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    s = sigma.clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (x[None] / s) ** 2)
    k = k / k.sum(dim=1, keepdim=True)  # (N, 7)
    n = images.shape[0]
    flat = images.reshape(1, n, *images.shape[-2:])
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), k[:, None, None, :], groups=n)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), k[:, None, :, None], groups=n)
    return flat.reshape(images.shape)


def _sample(src: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """``src`` sampled on ``grid`` (bilinear, zero outside), at the grid's resolution."""
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _render(src: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """``src`` sampled on a 2x ``grid``, then area-downsampled to the image size (anti-aliasing)."""
    return F.avg_pool2d(_sample(src, grid), 2)


def filled_head(tissue: torch.Tensor) -> torch.Tensor:
    """The head of boolean tissue maps ``(..., H, W)``: the tissue with its dark inner layers (skull, CSF)
    filled, i.e. every pixel with tissue on all four sides of it."""
    head = torch.ones_like(tissue)
    for dim in (-1, -2):
        head &= tissue.cummax(dim).values & tissue.flip(dim).cummax(dim).values.flip(dim)
    return head


def _inside_weight(src: torch.Tensor, grid: torch.Tensor, edge_px: float, tissue: float = 0.08) -> torch.Tensor:
    """Weight ``(n, H, W, 1)`` on the sampling grid: 0 outside the head and on its outline, rising to 1
    ``edge_px`` pixels (at 64) inside it (the :func:`filled_head`, twice box-blurred, is 0.5 on the outline)."""
    head = filled_head(_sample(src, grid) > tissue)
    head = head.float()
    size = head.shape[-1]
    radius = max(1, round(edge_px / 2 * size / IMAGE_SIZE))  # two box blurs of this radius span about edge_px
    for _ in range(2):
        head = F.avg_pool2d(head, 2 * radius + 1, stride=1, padding=radius, count_include_pad=True)
    return (2 * head - 1).clamp(0, 1).permute(0, 2, 3, 1)


def _crown_outside(src: torch.Tensor, grid: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    """Boolean ``(n,)``: the head sampled on ``grid`` has its crown ratio (whole image, scaled to its
    maximum, :func:`~mri_inpaint.fidelity.framing_stats`) outside ``bounds`` or none at all."""
    img = _render(src, grid)
    img = img / img.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    crown = framing_stats(img.numpy(), np.zeros(img.shape[-2:], bool))["crown_ratio"]
    with np.errstate(invalid="ignore"):
        inside = (crown >= bounds[0]) & (crown <= bounds[1])
    return torch.from_numpy(~inside)


class AnatomySource:
    """Realistic whole-head sagittal slices from the embedded heads.

    Args:
        params: variation settings (:class:`AnatomyParams`), including which heads to use.
        asset: ``None`` (default) draws from the heads named by ``params``; a path or a
            sequence of paths draws from exactly those ``.npz`` assets instead (weighted by
            ``params.head_weights`` under the name stored in each asset).
    """

    name = "anatomy"

    def __init__(self, params: AnatomyParams | None = None, *,
                 asset: Path | str | Sequence[Path | str] | None = None):
        self.settings = params or AnatomyParams()
        if asset is None:
            names = self.settings.head_names()
            unknown = [h for h in names if h not in HEADS]
            if unknown:
                raise ValueError(f"unknown head(s) {unknown}: choose from {', '.join(HEAD_NAMES)}")
            if not names:
                raise ValueError("no heads left to draw from: see AnatomyParams.heads/exclude")
            self.assets = tuple((h, HEADS[h].asset_path) for h in names)
        else:
            paths = [asset] if isinstance(asset, (str, Path)) else list(asset)
            self.assets = tuple((self._asset_name(Path(p)), Path(p)) for p in paths)
        self.asset = self.assets[0][1]  # the first asset (compatibility)
        self._stack = None

    @staticmethod
    def _asset_name(path: Path) -> str:
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                if "name" in z.files:
                    return str(z["name"])
        return path.stem.removesuffix("_sagittal")

    @property
    def head_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.assets)

    def params(self) -> dict:
        out = {k: _jsonable(v) for k, v in asdict(self.settings).items()}
        out["assets"] = {name: self._digest(name, path) for name, path in self.assets}
        return out

    @staticmethod
    def _digest(name: str, path: Path) -> str:
        if not path.exists():
            raise _missing(path, name if name in HEADS else None)
        st = path.stat()
        return _file_digest(str(path), st.st_mtime_ns, st.st_size)

    def sample(self, n: int, seed: int, *, batch_size: int = 512) -> np.ndarray:
        """Return ``n`` images, float32 ``(n, 1, 64, 64)`` in [0, 1]; deterministic in ``(n, seed)``."""
        if n < 0:
            raise ValueError(f"number of images must be >= 0, got {n}")
        gen = torch.Generator().manual_seed(int(seed))
        out = [self._batch(gen, min(batch_size, n - i)) for i in range(0, n, batch_size)]
        if not out:
            return np.zeros((0, 1, IMAGE_SIZE, IMAGE_SIZE), np.float32)
        return minmax_normalise(torch.cat(out).numpy())

    def _load(self):
        """All heads' slices stacked, with per-head index ranges, offsets, extents and kinds."""
        if self._stack is None:
            parts, first, count, lat0, extent, average, weight, frame = [], [], [], [], [], [], [], []
            start = 0
            for name, path in self.assets:
                if not path.exists():
                    raise _missing(path, name if name in HEADS else None)
                slices, lateral, ext, kind = _load_asset(str(path))
                parts.append(slices)
                first.append(start)
                count.append(len(slices))
                lat0.append(float(lateral[0]))
                extent.append(ext)
                average.append(kind == "average")
                weight.append(self.settings.weight(name))
                frame.append(self.settings.framing(name))
                start += len(slices)
            w = torch.tensor(weight, dtype=torch.float64)
            if not (w >= 0).all() or w.sum() <= 0:
                raise ValueError(f"head weights must be >= 0 with a positive sum, got {dict(zip(self.head_names, weight))}")
            self._stack = (torch.cat(parts), torch.tensor(first), torch.tensor(count), torch.tensor(lat0),
                           torch.tensor(extent), torch.tensor(average), w / w.sum(), torch.tensor(frame))
        return self._stack

    def _slice_at(self, lateral: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        """Sagittal slices ``(n, 1, S, S)`` at ``lateral`` mm, interpolated between stored 1 mm slices."""
        slices, first, count, lat0 = self._load()[:4]
        pos = (lateral - lat0[head]).clamp(min=0)
        pos = torch.minimum(pos, (count[head] - 1).float())
        lo = pos.floor().long()
        hi = torch.minimum(lo + 1, count[head] - 1)
        w = (pos - lo.float())[:, None, None]
        return ((1 - w) * slices[first[head] + lo] + w * slices[first[head] + hi])[:, None]

    def _elastic_warp(self, gen: torch.Generator, src: torch.Tensor, grid: torch.Tensor,
                      extent: torch.Tensor) -> torch.Tensor:
        """``grid`` plus each image's elastic field; with ``crown_ratio_range``, fields whose warped
        head has its crown outside the range are redrawn, and left out after the last redraw."""
        p = self.settings
        amplitude = p.elastic_frac * 2 / extent[..., None]

        def fields(rows: torch.Tensor) -> torch.Tensor:
            field = smooth_field(gen, len(rows), 2, p.elastic_knots, grid.shape[1]).permute(0, 2, 3, 1)
            if p.elastic_edge_px > 0:
                field = field * _inside_weight(src[rows], grid[rows], p.elastic_edge_px)
            return amplitude[rows] * field

        rows = torch.arange(len(grid))
        warped = grid + fields(rows)
        if p.crown_ratio_range is None:
            return warped
        for attempt in range(p.elastic_redraws + 1):
            rows = rows[_crown_outside(src[rows], warped[rows], p.crown_ratio_range)]
            if not len(rows):
                break
            warped[rows] = grid[rows] + fields(rows) if attempt < p.elastic_redraws else grid[rows]
        return warped

    @torch.no_grad()
    def _batch(self, gen: torch.Generator, n: int) -> torch.Tensor:
        p = self.settings
        extents, average, probs, framing = self._load()[4:]
        head = torch.multinomial(probs, n, replacement=True, generator=gen)
        # Lateral position (mm from the midline): truncated Gaussian (or uniform), interpolated
        # between the stored 1 mm slices of the chosen head.
        m = p.max_lateral_mm
        if p.lateral_sigma_mm > 0:
            lo_p = 0.5 * (1 + math.erf(-m / (p.lateral_sigma_mm * math.sqrt(2))))
            u = uniform_draws(gen, n, lo_p, 1 - lo_p).double()
            lateral = (p.lateral_sigma_mm * torch.special.ndtri(u)).float()
        else:
            lateral = uniform_draws(gen, n, -m, m)
        src = self._slice_at(lateral, head)
        extent = extents[head][:, None, None]

        # Affine: output frame [-1,1] -> asset coordinates (the frame is 1/extent of the asset).
        ang = uniform_draws(gen, n, -p.rotation_deg, p.rotation_deg) * math.pi / 180
        zoom = uniform_draws(gen, n, *p.scale_range) * framing[head, 0]
        sx = zoom * (1 + uniform_draws(gen, n, -p.aspect_jitter, p.aspect_jitter))
        sy = zoom * p.head_aspect * (1 + uniform_draws(gen, n, -p.aspect_jitter, p.aspect_jitter))
        tx = uniform_draws(gen, n, -p.shift_frac, p.shift_frac) * 2 + framing[head, 1]
        ty = uniform_draws(gen, n, -p.shift_frac, p.shift_frac) * 2 + framing[head, 2]
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.stack([
            torch.stack([cos / sx, -sin / sx, tx], 1),
            torch.stack([sin / sy, cos / sy, ty], 1),
        ], 1) / extent  # frame units -> asset units
        hi_res = 2 * IMAGE_SIZE  # render at 2x, then area-downsample (anti-aliasing)
        grid = F.affine_grid(theta, (n, 1, hi_res, hi_res), align_corners=False)
        grid = self._elastic_warp(gen, src, grid, extent)
        if p.outline_elastic_frac > 0:
            outline = smooth_field(gen, n, 2, 3, hi_res).permute(0, 2, 3, 1)
            grid = grid + p.outline_elastic_frac * 2 / extent[..., None] * outline
        img = _render(src, grid)  # (n,1,64,64)

        # Intensity: gamma, a random monotone curve, then a smooth multiplicative bias field.
        gamma = torch.exp(uniform_draws(gen, n, math.log(p.gamma_range[0]), math.log(p.gamma_range[1])))
        torch.rand(n, generator=gen)  # a retired saturation draw (always 1): kept so a seed gives the same images
        img = img.clamp(0, 1) ** gamma[:, None, None, None]
        knots = torch.linspace(0, 1, 6)
        curve = knots + p.curve_jitter * (torch.rand(n, 6, generator=gen) * 2 - 1)
        curve[:, 0] = 0
        curve = torch.cummax(curve.clamp(0, 1.2), dim=1).values
        pos_k = img.clamp(0, 1) * 5
        idx = pos_k.floor().long().clamp(max=4)
        frac = pos_k - idx
        flat_idx = idx.reshape(n, -1)
        c0 = torch.gather(curve, 1, flat_idx).reshape(img.shape)
        c1 = torch.gather(curve, 1, flat_idx + 1).reshape(img.shape)
        img = c0 + frac * (c1 - c0)
        img = img * (1 + p.bias_field * smooth_field(gen, n, 1, 3, IMAGE_SIZE))
        # Averaged templates lack single-scan texture: give them a fine multiplicative one.
        texture = torch.randn(img.shape, generator=gen)
        texture = F.avg_pool2d(F.pad(texture, (1, 1, 1, 1), mode="replicate"), 2, stride=1)[..., :-1, :-1]
        img = img * (1 + p.average_texture * average[head].float()[:, None, None, None] * texture)

        img = _gaussian_blur(img, uniform_draws(gen, n, *p.blur_sigma_range))
        img = img / img.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
        # Rician noise, as in magnitude MR images: the background becomes a faint positive
        # haze (as in the test images) instead of clamped Gaussian noise, whose many exact
        # zeros would teach the network to fill dark gaps with 0 and leave stripes.
        sigma = uniform_draws(gen, n, *p.noise_range)[:, None, None, None]
        real = img + sigma * torch.randn(img.shape, generator=gen)
        imag = sigma * torch.randn(img.shape, generator=gen)
        return torch.sqrt(real ** 2 + imag ** 2)
