#!/usr/bin/env bash
# Create the project's virtual environment in .venv and install its requirements.
# Idempotent: a repeat run only checks a stamp file and returns in about a second.
#   PYTHON=python3.11 bash scripts/setup.sh    # pick the interpreter (default: python3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
VPY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"
TORCH_VERSION="2.13.0"

log() { echo "[setup] $*"; }

if [[ ! -x "$VPY" ]]; then
    log "creating virtual environment $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
    "$PYTHON" -m venv "$VENV"
else
    log "using existing virtual environment $VENV"
fi

want="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"

torch_ok=1
"$VPY" -c "import torch" >/dev/null 2>&1 || torch_ok=0

if [[ "$torch_ok" == 1 && "$want" == "$have" ]]; then
    log "requirements up to date (stamp $STAMP matches requirements.txt + pyproject.toml); nothing to install"
    exit 0
fi

if [[ "$torch_ok" == 0 ]]; then
    # Installed first and pinned: a plain `torch` could pull a multi-GB CUDA build,
    # while the requirements' range is then already satisfied.
    log "torch not importable: pip install torch==$TORCH_VERSION"
    "$VPY" -m pip install "torch==$TORCH_VERSION"
fi

log "pip install -r requirements.txt"
"$VPY" -m pip install -r requirements.txt

# The package itself, editable: `mri-inpaint` on the venv's PATH, importable from anywhere.
log "pip install --no-deps -e ."
"$VPY" -m pip install --no-deps -e .

"$VPY" -c "import torch, numpy; print('[setup] torch', torch.__version__, '| numpy', numpy.__version__)"
echo "$want" > "$STAMP"
log "done; wrote stamp $STAMP"
