#!/usr/bin/env bash
# Compiles the op against the torch of VENV_DIR out of tree, into BUILD_DIR/lib (objects in
# BUILD_DIR/temp), leaving the in-place build of the primary .venv alone. Incremental (ninja).
# Load the result with MMDET_PSROI_LIBRARY=<printed path>. Prints the path of the library.
#
# Usage: tools/env/build_op.sh VENV_DIR BUILD_DIR [cuda]
#   cuda: also the CUDA kernels, with nvcc (CUDA_HOME, default /usr/local/cuda), for sm_75,
#   sm_80 and sm_90 (override with TORCH_CUDA_ARCH_LIST; CUDA 13's nvcc no longer targets sm_70,
#   whose oldest supported neighbour sm_75 stands in for it); VENV_DIR's torch must be a CUDA
#   13 build (its pip-installed toolkit provides the runtime headers).
set -euo pipefail

VENV=$1 BUILD=$2 WITH=${3:-cpu}
PY="$VENV/bin/python"
export MAX_JOBS=${MAX_JOBS:-2}
if [ "$WITH" = cuda ]; then
    export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
    [ -x "$CUDA_HOME/bin/nvcc" ] || { echo "[op-build] ERROR: no nvcc in $CUDA_HOME/bin: set CUDA_HOME" >&2; exit 1; }
    # The CUDA runtime headers of the pip-installed toolkit that this torch was built with.
    CU_INCLUDE=$("$PY" -c 'import os, nvidia; print(next(os.path.join(p, "cu13", "include") for p in nvidia.__path__))')
    export CPATH="$CU_INCLUDE${CPATH:+:$CPATH}"
    export FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-"7.5;8.0;9.0"}
    echo "[op-build] nvcc build for TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST into $BUILD (first build: a few minutes)" >&2
else
    # A CUDA build of torch must not pull the CUDA kernels in on a machine that has a GPU.
    export FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=""
    echo "[op-build] CPU build against $("$PY" -c 'import torch; print("torch", torch.__version__)') into $BUILD" >&2
fi
"$PY" setup.py -q build_ext --build-lib "$BUILD/lib" --build-temp "$BUILD/temp" >&2
ls "$BUILD"/lib/mmdet_psroi/ops/_C*.so
