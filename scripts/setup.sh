#!/usr/bin/env bash
# One-time, idempotent set-up: a virtual environment in .venv with binopose and everything it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || $PIP install "torch==2.13.0"
# MediaPipe 0.10.21 bundles its pose model; installed without its pinned dependencies (numpy 2 works).
.venv/bin/python -c "import mediapipe" 2>/dev/null || {
  $PIP install --no-deps "mediapipe==0.10.21" && $PIP install absl-py attrs flatbuffers "protobuf>=4.25.3,<5"
} || echo "setup: MediaPipe could not be installed; 2D detection from video will be unavailable" >&2
$PIP install -e ".[dev]"
