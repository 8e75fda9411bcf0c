"""Build Assessment.ipynb from the course template and notebook/Assessment.py (the answer cells).

    python scripts/build_notebook.py [--check]

The template's cells keep their order, ids and metadata; its markdown cells are copied word for
word, its code cells must keep every one of their lines (they may be wrapped). Outputs of the
existing Assessment.ipynb are kept for every code cell whose source is unchanged, so editing
markdown after a run keeps the run's outputs; a changed code cell loses them until the notebook is
executed again (scripts/execute_notebook.py). ``--check`` only says whether the notebook is current.

The package is the one source of the method's code the notebook shows. A code cell marked
``# %% source="mri_inpaint/model.py:ConvBlock,UNet"`` gets, after its own lines and a blank line,
the source of those top-level classes, functions or assignments, in that order, copied from the
module file by AST (the package is not imported): decorators and the comment lines directly above
each come along, relative imports become absolute. ``*imports`` in the list stands for the module's
top-level imports. A change to an injected object changes the build, so ``--check`` fails until
the notebook is rebuilt (and that cell loses its outputs until it is executed again).
"""
from __future__ import annotations

import argparse
import ast
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
CELL_MARK = re.compile(r'^# %%(?: \[(markdown)\])?(?: template="(\d+)")?(?: source="([^"]*)")?\s*$')
#: The ``from <dots><module> import`` head of a relative import, as written.
RELATIVE_HEAD = re.compile(r"from\s+((?:\.\s*)+)([\w.]*)\s*(?=import\b)")


def parse_source(text: str, root: Path = ROOT, name: str = "notebook/Assessment.py") -> list[dict]:
    """The cells of the percent-format source: ``{"type", "template" (int or None), "source", "line",
    "directive" (the ``source=`` value or None)}``, each directive's package code injected from ``root``.

    Raises:
        ValueError: a directive on a markdown cell, or one naming a module or object that is not there.
    """
    cells, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        m = CELL_MARK.match(line)
        if m:
            current = {"type": "markdown" if m.group(1) else "code",
                       "template": int(m.group(2)) if m.group(2) else None, "line": number,
                       "directive": m.group(3), "lines": []}
            cells.append(current)
        elif current is not None:
            current["lines"].append(line)
    for cell in cells:
        lines = cell.pop("lines")
        if cell["type"] == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        cell["source"] = "\n".join(lines).strip("\n")
        if cell["directive"] is not None:
            where = f'{name} line {cell["line"]} (source="{cell["directive"]}")'
            if cell["type"] != "code":
                raise ValueError(f"{where}: only a code cell can take a source= directive")
            cell["source"] = inject(cell["source"], cell["directive"], root, where)
    return cells


def inject(head: str, directive: str, root: Path = ROOT, where: str = "a cell") -> str:
    """A cell's own lines ``head``, a blank line, then the package code ``directive`` names
    (``"path/to/module.py:Name,Other"``), the objects joined by two blank lines."""
    path, _, names = directive.partition(":")
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not path.endswith(".py") or not wanted:
        raise ValueError(f'{where}: expected source="package/module.py:Name[,Name...]"')
    file = root / path
    if not file.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{where}: module file {path} is outside {root}")
    if not file.is_file():
        raise ValueError(f"{where}: module file {path} does not exist under {root}")
    code = "\n\n\n".join(object_source(file, n, root, where) for n in wanted)
    return f"{head}\n\n{code}" if head else code


def module_name(file: Path, root: Path) -> str:
    """The dotted name of a module file under ``root`` (``pkg/sub/__init__.py`` -> ``pkg.sub``)."""
    parts = list(file.resolve().relative_to(root.resolve()).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def absolute_module(file: Path, root: Path, level: int, module: str | None, where: str) -> str:
    """The absolute name of ``from <level dots><module> import`` written in ``file``."""
    package = module_name(file, root).split(".")
    if file.name != "__init__.py":
        package = package[:-1]
    if level > len(package):
        raise ValueError(f"{where}: a relative import in {file.name} goes above the top-level package")
    base = package[:len(package) - level + 1]
    return ".".join(base + ([module] if module else []))


def absolute_imports(segment: str, tree: ast.AST, first_line: int, file: Path, root: Path, where: str) -> str:
    """``segment`` (the module's lines from ``first_line`` on, holding ``tree``) with every relative
    import rewritten to an absolute one."""
    lines = segment.split("\n")
    found = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    for node in sorted(found, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        i = node.lineno - first_line
        line = lines[i]
        col = len(line.encode()[:node.col_offset].decode())  # col_offset counts UTF-8 bytes
        m = RELATIVE_HEAD.match(line, col)
        if not m:
            raise ValueError(f"{where}: cannot rewrite the relative import on line {node.lineno} of {file.name}")
        target = absolute_module(file, root, node.level, node.module, where)
        lines[i] = f"{line[:col]}from {target} {line[m.end():]}"
    return "\n".join(lines)


def object_source(file: Path, name: str, root: Path = ROOT, where: str = "a cell") -> str:
    """The source of the top-level object ``name`` of ``file`` with its decorators and the comment lines
    directly above it, or of its top-level imports for ``*imports``; relative imports made absolute."""
    text = file.read_text()
    tree = ast.parse(text, filename=str(file))
    lines = text.splitlines()
    if name == "*imports":
        parts, last = [], None
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "module", None) != "__future__":
                segment = "\n".join(lines[node.lineno - 1:node.end_lineno])
                if parts and node.lineno > last + 1:
                    parts.append("")  # the module's grouping: a blank line where it has one
                parts.append(absolute_imports(segment, node, node.lineno, file, root, where))
                last = node.end_lineno
        return "\n".join(parts)
    nodes = [n for n in tree.body if name in defined_names(n)]
    if len(nodes) != 1:
        what = "no top-level class, function or assignment" if not nodes else f"{len(nodes)} top-level definitions"
        raise ValueError(f"{where}: {file.relative_to(root)} has {what} named {name!r}")
    node = nodes[0]
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    while start > 1 and lines[start - 2].startswith("#"):  # unindented: not the end of a body above
        start -= 1
    segment = "\n".join(lines[start - 1:node.end_lineno])
    return absolute_imports(segment, node, start, file, root, where)


def defined_names(node: ast.stmt) -> set[str]:
    """The names a top-level statement defines: a class, a function, or the plain names it assigns."""
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return {node.name}
    targets = list(node.targets) if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    names = set()
    while targets:  # plain names, unpacked ones included; not ``x.attr = ...`` or ``x[k] = ...``
        t = targets.pop()
        if isinstance(t, ast.Name):
            names.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List, ast.Starred)):
            targets.extend(t.elts if not isinstance(t, ast.Starred) else [t.value])
    return names


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
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None):
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
    try:
        nb = build(template, parse_source(SOURCE.read_text()), previous)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
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
