#!/usr/bin/env bash
# Build Assessment.ipynb from the course template and notebook/Assessment.py, then execute it top to
# bottom with outputs saved (Restart & Run All). Pass --no-execute to only build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/python scripts/build_notebook.py
if [[ "${1:-}" != "--no-execute" ]]; then
    .venv/bin/python scripts/execute_notebook.py Assessment.ipynb
fi
