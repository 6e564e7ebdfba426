#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the requirements. Usage: scripts/setup.sh [dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# torch first and pinned: 2.13.0 is the local CPU build; anything else pulls CUDA.
.venv/bin/python -m pip install -q torch==2.13.0
if [ "${1:-}" = "dev" ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
# The `rag` console script (the package itself, editable: no dependencies pulled here).
.venv/bin/python -m pip install -q --no-deps -e .
