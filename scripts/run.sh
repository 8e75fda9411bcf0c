#!/usr/bin/env bash
# Set up the environment if needed, then run the main job: `python -m mri_inpaint run ARGS...`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "[run] .venv/bin/python -m mri_inpaint run $*"
exec .venv/bin/python -m mri_inpaint run "$@"
