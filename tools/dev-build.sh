#!/usr/bin/env bash
# Rebuild the compiled core into the development virtual environment (.venv), one build at a time.
# Usage: tools/dev-build.sh            (run from anywhere inside the repository)
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
exec flock /tmp/mefast-build.lock .venv/bin/python -m pip install --no-build-isolation --no-deps -e . -q
