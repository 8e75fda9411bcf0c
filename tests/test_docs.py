"""The front door stays short and its package map stays true to the package."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_fits_a_few_screens():
    assert len((ROOT / "README.md").read_text()) <= 8000


def test_package_map_names_every_module_and_nothing_else():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Package map", 1)[1].split("```")[1]
    mapped = set(re.findall(r"^  (\w+\.py|\w+/)", block, re.M))
    package = ROOT / "mri_inpaint"
    actual = {p.name for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    actual |= {p.name + "/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert mapped == actual
