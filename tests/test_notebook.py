"""The committed notebook: the course template kept, answers under their questions, executed, every
number its prose quotes found in its outputs, and runnable top to bottom with and without a
(stand-in) course generator."""
from __future__ import annotations

import ast
import copy
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "Assessment.ipynb"
TEMPLATE = ROOT / "notebook" / "template" / "Assessment.ipynb"
COURSE_TEMPLATE = ROOT.parent / "shared" / "template" / "Assessment.ipynb"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_notebook", ROOT / "scripts" / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_notebook = _load_builder()


def notebook() -> dict:
    return json.loads(NOTEBOOK.read_text())


def template() -> dict:
    return json.loads(TEMPLATE.read_text())


def text(cell) -> str:
    return "".join(cell["source"])


def output_text(nb: dict) -> str:
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for kind in ("text/plain", "text/markdown"):
                parts.append("".join(out.get("data", {}).get(kind, "")))
    return "\n".join(parts)


def added_markdown(nb: dict) -> list[str]:
    ids = {c["metadata"].get("id") for c in template()["cells"]}
    return [text(c) for c in nb["cells"] if c["cell_type"] == "markdown" and c["metadata"].get("id") not in ids]


# ---------------------------------------------------------------- the template, kept
def test_vendored_template_is_the_course_file():
    if not COURSE_TEMPLATE.exists():
        pytest.skip(f"{COURSE_TEMPLATE} is not beside this checkout")
    assert TEMPLATE.read_bytes() == COURSE_TEMPLATE.read_bytes()


def test_template_markdown_cells_are_verbatim_and_in_order():
    nb, tmpl = notebook(), template()
    by_id = {c["metadata"].get("id"): i for i, c in enumerate(nb["cells"]) if c["metadata"].get("id")}
    positions = []
    for cell in tmpl["cells"]:
        i = by_id.get(cell["metadata"]["id"])
        assert i is not None, f"template cell {cell['metadata']['id']} is missing"
        positions.append(i)
        assert nb["cells"][i]["cell_type"] == cell["cell_type"]
        if cell["cell_type"] == "markdown":
            assert text(nb["cells"][i]) == text(cell), f"template markdown cell {cell['metadata']['id']} changed"
    assert positions == sorted(positions), "the template's cells must keep their order"


def test_template_code_lines_are_present():
    nb, tmpl = notebook(), template()
    by_id = {c["metadata"].get("id"): c for c in nb["cells"]}
    for cell in tmpl["cells"]:
        if cell["cell_type"] != "code":
            continue
        have = {ln.strip() for ln in text(by_id[cell["metadata"]["id"]]).splitlines()}
        for line in build_notebook.template_code_lines(text(cell)):
            assert line in have, f"template line {line!r} is missing"
    code = "\n".join(text(c) for c in nb["cells"] if c["cell_type"] == "code")
    for line in ("drive.mount('/content/drive')", "!unzip /content/drive/MyDrive/cw1_files.zip -d ./",
                 "!chmod +x run.sh", "!bash ./run.sh", "sys.path.append('/content/ese-invldm')"):
        assert line in code, f"the course's Drive set-up line {line!r} is missing"
    assert re.search(r"samples = generate\(num_samples=\d+, num_inference_steps=\d+", code)


def test_notebook_format_is_the_templates():
    nb, tmpl = notebook(), template()
    assert (nb["nbformat"], nb["nbformat_minor"]) == (tmpl["nbformat"], tmpl["nbformat_minor"])
    assert nb["metadata"] == tmpl["metadata"]


def test_notebook_is_the_build_of_its_source():
    built = build_notebook.build(template(), build_notebook.parse_source(build_notebook.SOURCE.read_text()),
                                 notebook())
    strip = [(c["cell_type"], text(c)) for c in built["cells"]]
    assert strip == [(c["cell_type"], text(c)) for c in notebook()["cells"]], \
        "Assessment.ipynb differs from notebook/Assessment.py: run scripts/build_notebook.py"


def test_builder_refuses_a_lost_template_line():
    cells = build_notebook.parse_source(build_notebook.SOURCE.read_text())
    code = next(c for c in cells if c["template"] == 2)
    code["source"] = "import os"  # `import sys` dropped
    with pytest.raises(ValueError, match="lost lines"):
        build_notebook.build(template(), cells)


# ---------------------------------------------------------------- the package's code, injected
FIXTURE_MODULE = '''"""A module the tests inject from."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..util import helper
from . import sibling


def _private():
    return 0


# A comment that belongs to the block.
# Two lines of it.
@dataclass
class Block:
    """A block."""

    size: int = 1

    def scale(self):
        from .sibling import FACTOR
        from .. import util
        return FACTOR * util.helper()


#: Doubling, as a constant.
SCALE: float = 2.0
SCALE_TABLE = {}
SCALE_TABLE["x"] = SCALE  # assigns an item, defines no name
LOW, (HIGH, *REST) = 0, (1, 2)


def double(x):
    return SCALE * x
'''

FIXTURE_SOURCE = '''# %% [markdown]
# What the block does.

# %% source="pkg/sub/mod.py:*imports,Block,SCALE,double"
import os  # the cell's own line

# %%
print(double(3))
'''

EXPECTED_CELL = '''import os  # the cell's own line

import math
from dataclasses import dataclass

from pkg.util import helper
from pkg.sub import sibling


# A comment that belongs to the block.
# Two lines of it.
@dataclass
class Block:
    """A block."""

    size: int = 1

    def scale(self):
        from pkg.sub.sibling import FACTOR
        from pkg import util
        return FACTOR * util.helper()


#: Doubling, as a constant.
SCALE: float = 2.0


def double(x):
    return SCALE * x'''


@pytest.fixture
def fixture_package(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "util.py").write_text("def helper():\n    return 5\n")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "sibling.py").write_text("FACTOR = 3\n")
    (tmp_path / "pkg" / "sub" / "mod.py").write_text(FIXTURE_MODULE)
    return tmp_path


def test_source_directive_injects_the_named_objects_after_the_cells_own_lines(fixture_package):
    cells = build_notebook.parse_source(FIXTURE_SOURCE, root=fixture_package)
    assert [c["type"] for c in cells] == ["markdown", "code", "code"]
    assert cells[1]["directive"] == "pkg/sub/mod.py:*imports,Block,SCALE,double"
    assert cells[1]["source"] == EXPECTED_CELL
    assert cells[2]["source"] == "print(double(3))" and cells[2]["directive"] is None
    # a cell with only the directive holds only the package's code
    only = build_notebook.parse_source('# %% source="pkg/sub/mod.py:double"\n', root=fixture_package)
    assert only[0]["source"] == "def double(x):\n    return SCALE * x"


def test_injected_cell_runs_with_its_imports_made_absolute(fixture_package, monkeypatch):
    monkeypatch.syspath_prepend(str(fixture_package))
    cell = build_notebook.parse_source(FIXTURE_SOURCE, root=fixture_package)[1]["source"]
    scope: dict = {}
    exec(compile(cell, "<cell>", "exec"), scope)
    assert scope["double"](3) == 6.0 and scope["Block"]().scale() == 15  # 3 * 5, via pkg.sub and pkg


def test_relative_imports_resolve_as_python_resolves_them(fixture_package):
    root = fixture_package
    for file, package in ((root / "pkg" / "sub" / "mod.py", "pkg.sub"), (root / "pkg" / "sub" / "__init__.py", "pkg.sub"),
                          (root / "pkg" / "util.py", "pkg")):
        for level in (1, 2):
            for module in (None, "x.y"):
                name = "." * level + (module or "")
                try:
                    expected = importlib.util.resolve_name(name, package)
                except ImportError:
                    with pytest.raises(ValueError, match="above the top-level package"):
                        build_notebook.absolute_module(file, root, level, module, "here")
                    continue
                assert build_notebook.absolute_module(file, root, level, module, "here") == expected


def test_changing_the_package_changes_the_cell_and_drops_its_outputs(fixture_package):
    empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    first = build_notebook.build(empty, build_notebook.parse_source(FIXTURE_SOURCE, root=fixture_package))
    ran = {"output_type": "stream", "name": "stdout", "text": ["6.0\n"]}
    for count, cell in enumerate((c for c in first["cells"] if c["cell_type"] == "code"), 1):
        cell["outputs"], cell["execution_count"] = [ran], count
    module = fixture_package / "pkg" / "sub" / "mod.py"
    module.write_text(FIXTURE_MODULE.replace("return SCALE * x", "return SCALE * x + 0"))
    again = build_notebook.build(empty, build_notebook.parse_source(FIXTURE_SOURCE, root=fixture_package), first)
    assert text(again["cells"][1]) == EXPECTED_CELL + " + 0"
    assert again["cells"][1]["outputs"] == [] and again["cells"][1]["execution_count"] is None
    assert again["cells"][2]["outputs"] == [ran]  # an unchanged cell keeps its run


def test_source_directive_errors_name_the_cell_and_the_object(fixture_package):
    def parse(directive, kind=""):
        return build_notebook.parse_source(f'x = 1\n# %%{kind} source="{directive}"\n', root=fixture_package)

    with pytest.raises(ValueError, match=r"line 2 .*pkg/sub/mod.py:Block,Missing.*named 'Missing'"):
        parse("pkg/sub/mod.py:Block,Missing")
    with pytest.raises(ValueError, match="named 'sibling'"):
        parse("pkg/sub/mod.py:_private,sibling")  # an imported name is not a definition...
    assert parse("pkg/sub/mod.py:_private")[0]["source"].startswith("def _private")  # ...a private one is
    with pytest.raises(ValueError, match="pkg/nope.py does not exist"):
        parse("pkg/nope.py:Block")
    assert parse("pkg/sub/mod.py:SCALE_TABLE,REST")[0]["source"] == \
        "SCALE_TABLE = {}\n\n\nLOW, (HIGH, *REST) = 0, (1, 2)"
    with pytest.raises(ValueError, match="outside"):
        parse("../elsewhere.py:Block")
    with pytest.raises(ValueError, match="expected source="):
        parse("pkg/sub/mod.py")
    with pytest.raises(ValueError, match="only a code cell"):
        parse("pkg/sub/mod.py:Block", kind=" [markdown]")


def test_the_cli_reports_a_bad_directive_in_one_line(monkeypatch, tmp_path, capsys):
    source = tmp_path / "Assessment.py"
    source.write_text(build_notebook.SOURCE.read_text() + '\n# %% source="mri_inpaint/model.py:NoSuchThing"\n')
    monkeypatch.setattr(build_notebook, "SOURCE", source)
    monkeypatch.setattr(build_notebook, "NOTEBOOK", tmp_path / "Assessment.ipynb")
    assert build_notebook.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'NoSuchThing'" in err and "mri_inpaint/model.py" in err
    assert not (tmp_path / "Assessment.ipynb").exists()


def _directive_cells() -> list[tuple[int, str, str]]:
    """``(cell index, the cell's own lines, directive)`` for each ``source=`` cell of notebook/Assessment.py,
    read with a pattern of its own rather than the builder's parser."""
    found, index, current = [], -1, None
    for line in build_notebook.SOURCE.read_text().splitlines():
        if line.startswith("# %%"):
            index += 1
            m = re.search(r' source="([^"]*)"', line)
            current = [index, [], m.group(1)] if m else None
            if current:
                found.append(current)
        elif current is not None:
            current[1].append(line)
    return [(i, "\n".join(lines).strip("\n"), d) for i, lines, d in found]


def _code_without_relative_imports(node: ast.AST, module: str) -> str:
    """``ast.dump`` of ``node`` with each relative import resolved as Python resolves it."""
    node = copy.deepcopy(node)
    package = module.rpartition(".")[0]  # pkg.mod -> pkg, and pkg.__init__ -> pkg
    for sub in ast.walk(node):
        if isinstance(sub, ast.ImportFrom) and sub.level:
            sub.module = importlib.util.resolve_name("." * sub.level + (sub.module or ""), package)
            sub.level = 0
    return ast.dump(node)


def test_the_notebooks_injected_cells_are_the_packages_current_code():
    cells = notebook()["cells"]
    assert len(cells) == len(build_notebook.parse_source(build_notebook.SOURCE.read_text())), \
        "Assessment.ipynb's cells are not notebook/Assessment.py's: run scripts/build_notebook.py"
    for index, head, directive in _directive_cells():
        cell = text(cells[index])
        assert cell == build_notebook.inject(head, directive), \
            f"cell {index} ({directive}) differs from the package's code: run scripts/build_notebook.py"
        # the same comparison without the builder's extraction: each named definition compiles to the package's
        path, _, names = directive.partition(":")
        module = path.removesuffix(".py").replace("/", ".")
        tree = ast.parse((ROOT / path).read_text())
        in_cell = ast.parse(cell)
        for name in (n.strip() for n in names.split(",")):
            if name == "*imports":
                continue
            ours = [n for n in in_cell.body if name in build_notebook.defined_names(n)]
            theirs = [n for n in tree.body if name in build_notebook.defined_names(n)]
            assert len(ours) == len(theirs) == 1, f"cell {index}: {name}"
            assert ast.dump(ours[0]) == _code_without_relative_imports(theirs[0], module), f"cell {index}: {name}"


def test_one_set_up_cell_before_question_1_and_no_talk_of_tests():
    cells = notebook()["cells"]
    q1 = next(i for i, c in enumerate(cells) if "## **Question 1**" in text(c))
    assert sum(c["cell_type"] == "code" for c in cells[:q1]) <= 2
    prose = "\n".join(added_markdown(notebook())).lower()
    for word in ("quick mode", "smoke", "continuous integration", " ci ", "test suite", "pytest"):
        assert word not in prose, word


def test_each_question_has_answer_cells_before_the_next():
    cells = notebook()["cells"]
    heads = [next(i for i, c in enumerate(cells) if f"## **Question {q}**" in text(c)) for q in (1, 2, 3)]
    for start, end in zip(heads, heads[1:] + [len(cells)]):
        assert sum(c["cell_type"] == "code" and bool(c["outputs"]) for c in cells[start:end]) >= 2


# ---------------------------------------------------------------- executed, and honest
def test_committed_notebook_is_executed_in_order_without_errors():
    code = [c for c in notebook()["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), \
        "execution counts must run 1..n: Restart & Run All, then save"
    for i, cell in enumerate(code, 1):
        defines_only = all(line.startswith(("#", "import ", "from ", " ", ")", "@", "class ", "def ", '"""'))
                           or "=" in line.split("(")[0] for line in text(cell).splitlines() if line.strip())
        assert cell["outputs"] or defines_only, f"code cell {i} has no output"
        assert not [o for o in cell["outputs"] if o["output_type"] == "error"], f"code cell {i} saved an error"


def numbers_in(prose: str) -> list[str]:
    """The measured numbers a text quotes: decimals, and integers given in dB, % or minutes."""
    found = re.findall(r"(?<![\w.])[+-]?\d+\.\d+", prose)
    found += re.findall(r"(?<![\w.])[+-]?\d+(?=\s?(?:dB|%|\s?min))", prose)
    return found


def test_numbers_finds_what_prose_quotes():
    assert numbers_in("from 28.02 dB to +4.5 dB, 30% of the time, 19 min, in 2015") == \
        ["28.02", "+4.5", "30", "19"]


def test_every_number_in_the_prose_is_in_the_outputs():
    nb = notebook()
    outputs = output_text(nb)
    plain = outputs.replace(",", "")
    for prose in added_markdown(nb):
        for number in numbers_in(prose):
            bare = number.lstrip("+")
            assert bare in outputs or bare in plain or bare.lstrip("-") in outputs, \
                f"{number} is quoted in the notebook's prose but no output shows it"


def test_architecture_paragraph_is_markdown_of_200_to_400_words():
    paragraphs = [p for p in added_markdown(notebook()) if p.startswith("**Architecture and choices.**")]
    assert len(paragraphs) == 1
    words = len(re.findall(r"\w[\w.,%+-]*", paragraphs[0]))
    assert 200 <= words <= 400, f"{words} words"


def test_the_method_is_code_the_notebook_runs_not_printed_text():
    cells = notebook()["cells"]
    code = "\n".join(text(c) for c in cells if c["cell_type"] == "code")
    for definition in ("class CorruptedPairs(", "def make_train_loaders(", "class UNet(", "class InpaintNet(",
                       "def train_step(", "def train(", "def self_train("):
        assert definition in code, f"{definition} is not defined in a code cell"
    assert "show_code" not in code
    for cell in cells:
        for out in cell.get("outputs", []):
            assert not "".join(out.get("data", {}).get("text/plain", "")).startswith("# mri_inpaint.")


def test_the_network_is_trained_not_loaded():
    code = "\n".join(text(c) for c in notebook()["cells"] if c["cell_type"] == "code")
    for loaded in ("inpaint_unet.pt", "DEFAULT_WEIGHTS", "load_model", "paths.weights"):
        assert loaded not in code, f"the notebook must train its network, not load {loaded}"
    assert "train_or_resume(" in code and "held_out_evidence(" in code


def test_references_follow_the_template_and_cover_the_notebook():
    refs = (ROOT / "References.md").read_text()
    assert refs.startswith("# Coursework 1 - References\n")
    items = re.findall(r"^(\d+)\. (.+)$", refs, flags=re.M)
    assert [int(n) for n, _ in items] == list(range(1, len(items) + 1)) and len(items) >= 6
    assert all("http" in body or "no public link" in body for _, body in items), "every entry carries its link"
    assert re.search(r"AI (coding )?assistant", refs) and "not public" in refs, "the statement on AI-tool use"
    prose = "\n".join(added_markdown(notebook()))
    for cited in ("Ronneberger", "Batson", "Loshchilov", "Wu", "Wang", "van der Walt"):
        assert cited in prose and cited in refs, cited


# ---------------------------------------------------------------- runs top to bottom
def _execute(tmp_path, monkeypatch, **env):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MRI_PRESET", "smoke")
    monkeypatch.setenv("MRI_WORK_DIR", str(tmp_path / "work"))
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()  # raises on any cell error
    return nb


def _committed_outputs() -> dict[Path, bytes]:
    files = [NOTEBOOK, ROOT / "test_set_nogaps.npy", *sorted((ROOT / "figures").glob("*.png"))]
    return {p: p.read_bytes() for p in files if p.exists()}


@pytest.mark.slow
def test_notebook_runs_top_to_bottom_and_fills_as_the_command_line_does(tmp_path, monkeypatch, test_set_file):
    before = _committed_outputs()
    _execute(tmp_path, monkeypatch, MRI_TEST_SET=test_set_file)
    assert _committed_outputs() == before  # nothing committed is touched
    weights = tmp_path / "work" / "runs" / "notebook-smoke" / "final.pt"
    filled = np.load(tmp_path / "work" / "test_set_nogaps.npy")
    assert filled.shape == np.load(test_set_file).shape

    # One path to the deliverable: `run` composes the same steps, so it makes the same pixels and weights.
    cli = tmp_path / "cli"
    subprocess.run([sys.executable, "-m", "mri_inpaint", "run", "--preset", "smoke", "-q", "--test-set",
                    str(test_set_file), "--data-dir", str(cli / "data"), "--run-dir", str(cli / "run"),
                    "--output", str(cli / "filled.npy")], cwd=ROOT, check=True, capture_output=True)
    assert np.load(cli / "filled.npy").tobytes() == filled.tobytes()
    ours, theirs = (torch.load(p, weights_only=True)["model"] for p in (weights, cli / "run" / "final.pt"))
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_cell_timings_come_from_the_kernels_execution_metadata():
    spec = importlib.util.spec_from_file_location("execute_notebook", ROOT / "scripts" / "execute_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    timed = {"iopub.execute_input": "2026-12-05T01:00:00.000Z", "shell.execute_reply": "2026-12-05T01:01:30.500Z"}
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}},
                    {"cell_type": "code", "metadata": {"execution": timed}},
                    {"cell_type": "code", "metadata": {}}]}
    assert module.cell_seconds(module.nbformat.from_dict(nb)) == {1: 90.5}
