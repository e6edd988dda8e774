#!/usr/bin/env bash
# Testing on a Slurm cluster, as mmdet's tools/slurm_test.sh:
#   [GPUS=8] [GPUS_PER_NODE=8] bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# One task per GPU; mmengine reads the rank and world size from Slurm (--launcher slurm).
# CPUS_PER_TASK (default 5) and SRUN_ARGS (extra srun options) as in mmdet's script.
set -euo pipefail
# shellcheck source=tools/launch_common.sh
source "$(dirname "$0")/launch_common.sh"
require_args 4 "[GPUS=N] [GPUS_PER_NODE=N] bash $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]" "$@"
require_file CONFIG "$3"
require_file CHECKPOINT "$4"
slurm_launch "$1" "$2" test.py "$3" "$4" --launcher=slurm "${@:5}"
