#!/usr/bin/env bash
# Set up (first time) and start the web chat on http://127.0.0.1:7860 .
# The index is built from corpus/ on the first start. Extra arguments go to app.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python app.py "$@"
