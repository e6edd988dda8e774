#!/usr/bin/env bash
# Compiles and links the CUDA build of the op (CPU + CUDA kernels) with nvcc against the CUDA
# torch of VENV_DIR, out of tree in build/cuda/, for sm_75, sm_80 and sm_90 (override with
# TORCH_CUDA_ARCH_LIST; CUDA 13's nvcc no longer targets sm_70, whose oldest supported
# neighbour sm_75 stands in for it). Incremental (ninja). Prints the path of the library.
#
# Usage: tools/env/build_cuda_ext.sh [VENV_DIR]   (default .venv-cuda)
set -euo pipefail

VENV=${1:-.venv-cuda}
PY="$VENV/bin/python"
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
[ -x "$CUDA_HOME/bin/nvcc" ] || { echo "[cuda-build] ERROR: no nvcc in $CUDA_HOME/bin: set CUDA_HOME" >&2; exit 1; }
# The CUDA runtime headers of the pip-installed toolkit that this torch was built with.
CU_INCLUDE=$("$PY" -c 'import os, nvidia; print(next(os.path.join(p, "cu13", "include") for p in nvidia.__path__))')
export CPATH="$CU_INCLUDE${CPATH:+:$CPATH}"
export FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-"7.5;8.0;9.0"} MAX_JOBS=${MAX_JOBS:-2}

echo "[cuda-build] nvcc build for TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST (first build: a few minutes)"
"$PY" setup.py -q build_ext --build-lib build/cuda/lib --build-temp build/cuda/temp
ls build/cuda/lib/mmdet_psroi/ops/_C*.so
