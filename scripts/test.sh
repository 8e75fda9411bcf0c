#!/usr/bin/env bash
# Set up the environment if needed, then run the tests (all of them, slow ones included).
# Arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow" -x -q`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "[test] .venv/bin/python -m pytest $*"
exec .venv/bin/python -m pytest "$@"
