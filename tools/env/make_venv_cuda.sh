#!/usr/bin/env bash
# Creates (or checks) the optional op-checking environment: torch 2.14.1 (CUDA 13.0 build, which
# also runs on the CPU) and torchvision 0.29.1. It is used only to compile the CUDA sources with
# nvcc and to compare the op against torchvision's ps_roi_pool / ps_roi_align. No mmdet here.
# Idempotent, like make_venv.sh. About 5.5 GB.
#
# Usage: tools/env/make_venv_cuda.sh [VENV_DIR]   (default .venv-cuda)
set -euo pipefail

VENV=${1:-.venv-cuda}
PYTHON=${PYTHON:-python3}
CONSTRAINTS=requirements/constraints.txt
STAMP="$VENV/.mmdet-psroi-env"
WANT="$(cat "$0" "$CONSTRAINTS" | sha256sum | cut -c1-16)"

say() { printf '[env-cuda] %s\n' "$*"; }
die() { printf '[env-cuda] ERROR: %s\n' "$*" >&2; exit 1; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    say "$VENV is ready"
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip
say "installing torch 2.14.1 (CUDA 13.0 build) and torchvision 0.29.1: about a minute, 5.5 GB"
"${PIP[@]}" install -q torch==2.14.1 torchvision==0.29.1 \
    || die "could not install torch 2.14.1 / torchvision 0.29.1"
"${PIP[@]}" install -q -c "$CONSTRAINTS" numpy pytest ninja setuptools wheel
"$VENV/bin/python" -c 'import torch, torchvision; print(f"[env-cuda] torch {torch.__version__} (CUDA {torch.version.cuda}), torchvision {torchvision.__version__}")' \
    || die "torch/torchvision do not import in $VENV"
echo "$WANT" > "$STAMP"
say "$VENV is ready"
