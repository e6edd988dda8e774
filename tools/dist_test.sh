#!/usr/bin/env bash
# Distributed testing, as mmdet's tools/dist_test.sh:
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# NNODES, NODE_RANK, PORT and MASTER_ADDR select a multi-node run.
# shellcheck source=tools/launch_common.sh
source "$(dirname "$0")/launch_common.sh"
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
dist_launch "$GPUS" test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
