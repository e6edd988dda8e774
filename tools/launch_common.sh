# shellcheck shell=bash
# Sourced (not run) by tools/dist_{train,test}.sh and tools/slurm_{train,test}.sh: the argument
# checks and the torchrun / srun command lines of mmdet's launcher scripts, written once.
# $0 stays the calling script, so messages name it.
TOOLS_DIR=$(dirname "${BASH_SOURCE[0]}")

# require_args COUNT USAGE ARGS...: exit 2 with "usage: USAGE" when ARGS has fewer than COUNT words.
require_args() {
    local count=$1 usage=$2
    shift 2
    if [ $# -lt "$count" ]; then
        echo "usage: $usage" >&2
        exit 2
    fi
}

# require_file NAME PATH: exit 2 naming the argument NAME when PATH is not a file.
require_file() {
    if [ ! -f "$2" ]; then
        echo "$0: $1 $2 is not a file" >&2
        exit 2
    fi
}

# dist_launch NPROC SCRIPT ARGS...: python -m torch.distributed.run tools/SCRIPT ARGS... with NPROC
# processes on this node; NNODES (1), NODE_RANK (0), PORT (29500) and MASTER_ADDR (127.0.0.1)
# select a multi-node run.
dist_launch() {
    local nproc=$1 script=$2
    shift 2
    PYTHONPATH="$TOOLS_DIR/..":${PYTHONPATH:-} \
    python -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$nproc" \
        --master_port="${PORT:-29500}" \
        "$TOOLS_DIR/$script" "$@"
}

# slurm_launch PARTITION JOB_NAME SCRIPT ARGS...: srun python -u tools/SCRIPT ARGS..., one task per
# GPU; GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5) and SRUN_ARGS (extra srun options, split on
# spaces) as in mmdet's scripts.
slurm_launch() {
    local partition=$1 job_name=$2 script=$3
    shift 3
    # shellcheck disable=SC2086  # SRUN_ARGS holds several options
    PYTHONPATH="$TOOLS_DIR/..":${PYTHONPATH:-} \
    srun -p "$partition" \
        --job-name="$job_name" \
        --gres=gpu:"${GPUS_PER_NODE:-8}" \
        --ntasks="${GPUS:-8}" \
        --ntasks-per-node="${GPUS_PER_NODE:-8}" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} \
        python -u "$TOOLS_DIR/$script" "$@"
}
