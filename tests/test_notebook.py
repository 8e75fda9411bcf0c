"""The committed notebook: executed, paired with its source, the course template kept, and runnable
top to bottom in quick mode, with and without a (stand-in) course generator."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "Assessment.ipynb"
SOURCE = ROOT / "notebook" / "Assessment.py"


def cells(kind: str | None = None):
    nb = json.loads(NOTEBOOK.read_text())
    return [c for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def code_text() -> str:
    return "\n".join("".join(c["source"]) for c in cells("code"))


def test_committed_notebook_has_outputs_in_order_and_no_errors():
    code = cells("code")
    assert code, "the notebook has no code cells"
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), \
        "execution counts must run 1..n: Restart & Run All, then save"
    for i, cell in enumerate(code, 1):
        assert cell["outputs"], f"code cell {i} has no output"
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"code cell {i} saved an error: {errors[0].get('ename')}"


def test_notebook_is_its_reviewable_source():
    jupytext = pytest.importorskip("jupytext")
    source = jupytext.read(SOURCE)
    want = [(c.cell_type, c.source.strip()) for c in source.cells]
    have = [(c["cell_type"], "".join(c["source"]).strip()) for c in cells()]
    assert have == want, "Assessment.ipynb differs from notebook/Assessment.py: run scripts/build_notebook.sh"


def test_notebook_headings_follow_the_coursework():
    text = "\n".join("".join(c["source"]) for c in cells("markdown"))
    for heading in ("## Question 1 (25%)", "## Question 2 (25%)", "## Question 3 (50%)"):
        assert heading in text
    assert text.index("## Question 1") < text.index("## Question 2") < text.index("## Question 3")


def test_template_cells_are_kept_and_the_network_is_trained_not_loaded():
    code = code_text()
    for snippet in ("drive.mount('/content/drive')", "cw1_files.zip", "run.sh", "sys.path.append(",
                    "from ese_invldm import generate", "generate(num_samples="):
        assert snippet in code, snippet
    for loaded in ("inpaint_unet.pt", "DEFAULT_WEIGHTS", "load_model", "paths.weights"):
        assert loaded not in code, f"the notebook must train its network, not load {loaded}"
    assert "train_or_resume(" in code and "adapt_to_test_images(" in code
    assert "bench/results" not in code  # every number comes from the run itself


def _execute(tmp_path, monkeypatch, **env):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MRI_SMOKE", "1")
    monkeypatch.setenv("MRI_SMOKE_DIR", str(tmp_path / "work"))
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()  # raises on any cell error
    return nb


def _committed_outputs() -> dict[Path, bytes]:
    files = [NOTEBOOK, ROOT / "test_set_nogaps.npy", *sorted((ROOT / "figures").glob("*.png"))]
    return {p: p.read_bytes() for p in files if p.exists()}


@pytest.mark.slow
def test_notebook_runs_in_quick_mode(tmp_path, monkeypatch):
    before = _committed_outputs()
    nb = _execute(tmp_path, monkeypatch, MRI_BUNDLE_ZIP=tmp_path / "no_bundle.zip")
    assert _committed_outputs() == before  # nothing committed is touched
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert (tmp_path / "work" / "runs" / "notebook" / "final.pt").exists()
    assert any((tmp_path / "work").glob("**/*nogaps.npy"))


FAKE_GENERATOR = '''
import json, os
import torch

def generate(num_samples, num_inference_steps, batch_size, scheduler="ddim", temperature=1.0, seed=42):
    """Stand-in with the course generator's signature: smooth blobs, [B, 1, 64, 64] batches."""
    with open(os.environ["FAKE_GENERATE_LOG"], "a") as fh:
        fh.write(json.dumps({"num_samples": num_samples, "num_inference_steps": num_inference_steps,
                             "batch_size": batch_size, "scheduler": scheduler, "temperature": temperature,
                             "seed": seed}) + "\\n")
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    out, left = [], num_samples
    while left > 0:
        b = min(batch_size, left)
        cy, cx = 20 + 24 * torch.rand(b, 1, 1, generator=g), 20 + 24 * torch.rand(b, 1, 1, generator=g)
        width = 8 + 10 * temperature + num_inference_steps / 10
        img = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width ** 2))
        out.append((img + 0.05 * torch.rand(b, 64, 64, generator=g))[:, None])
        left -= b
    return out
'''


@pytest.mark.slow
def test_notebook_colab_path_calls_the_course_generator(tmp_path, monkeypatch, test_set_file):
    bundle = tmp_path / "cw1_files.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("run.sh", "#!/bin/bash\necho installed > installed.txt\n")
        z.writestr("ese-invldm/ese_invldm/__init__.py", FAKE_GENERATOR)
    log = tmp_path / "generate.jsonl"
    _execute(tmp_path, monkeypatch, MRI_BUNDLE_ZIP=bundle, MRI_COURSE_DIR=tmp_path / "course",
             FAKE_GENERATE_LOG=log, MRI_TEST_SET=test_set_file)
    assert (tmp_path / "course" / "installed.txt").is_file()  # the bundle's run.sh ran
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    sweep = [c for c in calls if c["seed"] == 42]
    assert {c["scheduler"] for c in sweep} == {"ddim", "ddpm"}  # the parameter sweep ran

    from mri_inpaint.checkpoint import load_checkpoint

    state = load_checkpoint(tmp_path / "work" / "runs" / "notebook" / "last.pt")
    data = state["config"]["data"]
    assert data["source"] == "course"
    chosen = (data["course_scheduler"], data["course_steps"], data["course_temperature"])
    cache_calls = [c for c in calls if c["seed"] != 42]
    assert cache_calls and all((c["scheduler"], c["num_inference_steps"], c["temperature"]) == chosen
                               for c in cache_calls)  # the training set was generated with the chosen settings
    caches = list((tmp_path / "work" / "data").glob("course-*"))
    assert caches, "the training images were not cached"
    manifest = json.loads(next(caches[0].glob("*.json")).read_text())
    assert manifest["source"] == "course"
    assert sum(c["num_samples"] for c in cache_calls) >= data["num_images"]  # training used those images
    filled = np.load(tmp_path / "work" / "test_set_nogaps.npy")
    assert filled.shape == np.load(test_set_file).shape
