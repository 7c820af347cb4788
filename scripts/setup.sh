#!/usr/bin/env bash
# Create (or update) the local virtual environment .venv with mtdnn_lite and its pinned dependencies.
# Idempotent: a second run only checks that everything is installed.
# torch is pinned to 2.13.0 and installed first, so that no other package pulls a multi-GB CUDA build
# of torch onto a CPU machine. On a GPU machine, install the CUDA build of torch 2.13.0 into .venv
# before running this script; it is then kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
command -v chromedriver >/dev/null || echo "note: tests/test_browser.py needs Chromium and its driver and is skipped" \
    "without them: apt-get install -y chromium chromium-driver (as root; .ci/run does it)"
.venv/bin/python -c "import torch, transformers, datasets; print(f'mtdnn_lite environment ready: torch {torch.__version__}, transformers {transformers.__version__}, datasets {datasets.__version__}')"
