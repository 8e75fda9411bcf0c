"""Tests for bench.choices: the choices table reads every number from a result file."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import choices

ROOT = Path(__file__).resolve().parents[1]


def _shift_floats(obj, offset: float):
    """``obj`` with ``offset`` added to every float in it (ints, such as step counts, unchanged)."""
    if isinstance(obj, float):
        return obj + offset
    if isinstance(obj, dict):
        return {k: _shift_floats(v, offset) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shift_floats(v, offset) for v in obj]
    return obj


def test_every_measured_choice_reads_existing_result_files():
    rows = choices.choices_table()
    assert len(rows) == len(choices.CHOICES)
    measured = [r for r in rows if r["evidence"]]
    assert len(measured) >= 10
    for r in measured:
        assert r["files"] and all((choices.RESULTS / f).is_file() for f in r["files"])
        assert r["command"].startswith("python -m bench.") and r["run"]
        for e in r["evidence"]:
            assert e["difference_db"] == pytest.approx(e["adopted_db"] - e["alternative_db"])
            assert 15 < e["adopted_db"] < 40 and 15 < e["alternative_db"] < 40  # PSNRs on the gaps, in dB
    for r in rows:
        if not r["evidence"]:
            assert r["files"] == [] and r["command"] is None


def test_the_numbers_follow_the_files_not_the_code(tmp_path):
    """Shift every float of each result file by its own offset: every difference moves by exactly
    the offsets' difference, so none of them is typed into the module."""
    offsets = {}
    for i, path in enumerate(sorted(choices.RESULTS.glob("*.json"))):
        offsets[path.name] = 0.1 * (i + 1)
        data = _shift_floats(json.loads(path.read_text()), offsets[path.name])
        (tmp_path / path.name).write_text(json.dumps(data))
    before, after = choices.choices_table(), choices.choices_table(tmp_path)
    for spec, b, a in zip(choices.CHOICES, before, after):
        for (head, adopted, alternative), eb, ea in zip(spec["evidence"], b["evidence"], a["evidence"]):
            assert ea["adopted_db"] == pytest.approx(eb["adopted_db"] + offsets[adopted[1]])
            assert ea["difference_db"] == pytest.approx(eb["difference_db"] + offsets[adopted[1]]
                                                        - offsets[alternative[1]])
    shutil.rmtree(tmp_path)
    with pytest.raises(FileNotFoundError):
        choices.choices_table(tmp_path)


def test_markdown_shows_only_numbers_from_the_rows():
    rows = choices.choices_table()
    table = choices.format_choices(rows)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows)
    for r, line in zip(rows, lines[2:]):
        cell = line.split(" | ")[2]
        if not r["evidence"]:
            assert cell == "no run"
            continue
        shown = [float(x) for x in re.findall(r"[+-]\d+\.\d\d", cell)]
        assert shown == [round(e["difference_db"], 2) for e in r["evidence"]]
        assert all(f"`{f}`" in line for f in r["files"])


def test_choices_import_without_torch_or_the_package():
    code = "import sys, bench.choices; sys.exit(int('torch' in sys.modules or 'mri_inpaint' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_unknown_measure_kind_is_refused():
    with pytest.raises(ValueError, match="unknown measure kind"):
        choices.read(("ssim", "loho.json"))
