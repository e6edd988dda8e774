#!/usr/bin/env bash
# Testing on a Slurm cluster, as mmdet's tools/slurm_test.sh:
#   [GPUS=8] [GPUS_PER_NODE=8] bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# One task per GPU; mmengine reads the rank and world size from Slurm (--launcher slurm).
# CPUS_PER_TASK (default 5) and SRUN_ARGS (extra srun options) as in mmdet's script.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: [GPUS=N] [GPUS_PER_NODE=N] bash $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
for file in "$CONFIG" "$CHECKPOINT"; do
    if [ ! -f "$file" ]; then
        echo "$0: $file is not a file" >&2
        exit 2
    fi
done

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
    python -u "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher=slurm "${@:5}"
