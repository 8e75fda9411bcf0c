#!/usr/bin/env bash
# Write Assessment.ipynb from its reviewable source notebook/Assessment.py (jupytext, percent format),
# then execute it top to bottom with outputs saved. Pass --no-execute to only convert.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/jupytext --to ipynb --output Assessment.ipynb notebook/Assessment.py
if [[ "${1:-}" != "--no-execute" ]]; then
    .venv/bin/python scripts/execute_notebook.py Assessment.ipynb
fi
