#!/usr/bin/env bash
# The nvcc build of the op (CPU + CUDA kernels) against VENV_DIR's CUDA torch, in build/cuda/.
# Usage: tools/env/build_cuda_ext.sh [VENV_DIR]   (default .venv-cuda); see build_op.sh.
exec bash "$(dirname "$0")/build_op.sh" "${1:-.venv-cuda}" build/cuda cuda
