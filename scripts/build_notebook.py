"""Build Assessment.ipynb from the course template and notebook/Assessment.py (the answer cells).

    python scripts/build_notebook.py [--check]

The template's cells keep their order, ids and metadata; its markdown cells are copied word for
word, its code cells must keep every one of their lines (they may be wrapped). Outputs of the
existing Assessment.ipynb are kept for every code cell whose source is unchanged, so editing
markdown after a run keeps the run's outputs; a changed code cell loses them until the notebook is
executed again (scripts/execute_notebook.py). ``--check`` only says whether the notebook is current.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The course's starter notebook, kept in the repository as handed out (the tests compare the two).
TEMPLATE = ROOT / "notebook" / "template" / "Assessment.ipynb"
SOURCE = ROOT / "notebook" / "Assessment.py"
NOTEBOOK = ROOT / "Assessment.ipynb"
CELL_MARK = re.compile(r'^# %%(?: \[(markdown)\])?(?: template="(\d+)")?\s*$')


def parse_source(text: str) -> list[dict]:
    """The cells of the percent-format source: ``{"type", "template" (int or None), "source"}``."""
    cells, current = [], None
    for line in text.splitlines():
        m = CELL_MARK.match(line)
        if m:
            current = {"type": "markdown" if m.group(1) else "code",
                       "template": int(m.group(2)) if m.group(2) else None, "lines": []}
            cells.append(current)
        elif current is not None:
            current["lines"].append(line)
    for cell in cells:
        lines = cell.pop("lines")
        if cell["type"] == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        cell["source"] = "\n".join(lines).strip("\n")
    return cells


def template_code_lines(source: str) -> list[str]:
    """The non-blank lines of a template code cell, stripped (what an answer cell must keep)."""
    return [ln.strip() for ln in source.splitlines() if ln.strip() and ln.strip() != "samples = generate(##)"]


def build(template: dict, cells: list[dict], previous: dict | None = None) -> dict:
    """The notebook: template cells in order with the answer cells between them."""
    tcells = template["cells"]
    used = [c["template"] for c in cells if c["template"] is not None]
    if used != list(range(len(tcells))):
        raise ValueError(f"the source must place every template cell once, in order: got {used}")
    old_outputs = {}
    for c in (previous or {}).get("cells", []):
        if c["cell_type"] == "code" and c.get("outputs"):
            old_outputs.setdefault("".join(c["source"]), (c["outputs"], c.get("execution_count")))
    out = []
    for cell in cells:
        if cell["template"] is not None:
            t = copy.deepcopy(tcells[cell["template"]])
            if t["cell_type"] != cell["type"]:
                raise ValueError(f"template cell {cell['template']} is {t['cell_type']}, the source says {cell['type']}")
            if t["cell_type"] == "code":
                have = [ln.strip() for ln in cell["source"].splitlines()]
                missing = [ln for ln in template_code_lines("".join(t["source"])) if ln not in have]
                if missing:
                    raise ValueError(f"template code cell {cell['template']} lost lines: {missing}")
                t["source"] = cell["source"]
            new = t
        elif cell["type"] == "markdown":
            new = {"cell_type": "markdown", "metadata": {}, "source": cell["source"]}
        else:
            new = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": cell["source"]}
        if new["cell_type"] == "code":
            outputs, count = old_outputs.get(new["source"] if isinstance(new["source"], str)
                                             else "".join(new["source"]), ([], None))
            new["outputs"], new["execution_count"] = outputs, count
        if isinstance(new["source"], str):
            new["source"] = new["source"].splitlines(keepends=True)
        out.append(new)
    nb = {k: copy.deepcopy(v) for k, v in template.items() if k != "cells"}
    nb["cells"] = out
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if Assessment.ipynb is not the current build")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="the course's starter notebook")
    args = parser.parse_args(argv)
    if not args.template.is_file():
        print(f"error: the course template {args.template} is missing", file=sys.stderr)
        return 2
    template = json.loads(args.template.read_text())
    previous = json.loads(NOTEBOOK.read_text()) if NOTEBOOK.exists() else None
    nb = build(template, parse_source(SOURCE.read_text()), previous)
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = NOTEBOOK.exists() and NOTEBOOK.read_text() == text
        print("Assessment.ipynb is current" if current else "Assessment.ipynb differs from its build")
        return 0 if current else 1
    NOTEBOOK.write_text(text)
    print(f"wrote {NOTEBOOK.relative_to(ROOT)}: {len(nb['cells'])} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
