#!/usr/bin/env bash
# Training on a Slurm cluster, as mmdet's tools/slurm_train.sh:
#   [GPUS=16] [GPUS_PER_NODE=8] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# One task per GPU; mmengine reads the rank and world size from Slurm (--launcher slurm).
# CPUS_PER_TASK (default 5) and SRUN_ARGS (extra srun options) as in mmdet's script.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: [GPUS=N] [GPUS_PER_NODE=N] bash $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
if [ ! -f "$CONFIG" ]; then
    echo "$0: CONFIG $CONFIG is not a file" >&2
    exit 2
fi

# shellcheck disable=SC2086  # SRUN_ARGS holds several options
PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$(dirname "$0")/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher=slurm "${@:5}"
