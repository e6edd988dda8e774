#!/usr/bin/env bash
# The GPU check: builds the op out of tree for the GPU present, runs the op tests (CUDA cases
# included), benchmarks our kernels against torchvision's CUDA kernels and, where mmcv and
# mmdet import, R-FCN against Faster R-CNN C4; writes gpu_check.json and gpu_check.md to
# OUT_DIR. Needs python3 with torch, torchvision, pytest and setuptools, and nvcc; no network,
# no installs. Exits non-zero, naming the failing step, on any failure. See tools/gpu_check.py.
#
# Usage: tools/gpu_check.sh [--dry-run] [--budget-s SECONDS] OUT_DIR
#        PYTHON=/path/to/python tools/gpu_check.sh OUT_DIR   (default: python3)
#        tools/gpu_check.sh --dry-run OUT_DIR                (no GPU: CPU, tiny sizes)
set -euo pipefail

PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "[gpu-check] ERROR: $PYTHON not found (set PYTHON)" >&2; exit 2; }
exec "$PYTHON" "$(dirname "$0")/gpu_check.py" "$@"
