#!/usr/bin/env bash
# Training on a Slurm cluster, as mmdet's tools/slurm_train.sh:
#   [GPUS=16] [GPUS_PER_NODE=8] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# One task per GPU; mmengine reads the rank and world size from Slurm (--launcher slurm).
# CPUS_PER_TASK (default 5) and SRUN_ARGS (extra srun options) as in mmdet's script.
set -euo pipefail
# shellcheck source=tools/launch_common.sh
source "$(dirname "$0")/launch_common.sh"
require_args 4 "[GPUS=N] [GPUS_PER_NODE=N] bash $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]" "$@"
require_file CONFIG "$3"
slurm_launch "$1" "$2" train.py "$3" --work-dir="$4" --launcher=slurm "${@:5}"
