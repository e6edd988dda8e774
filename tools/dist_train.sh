#!/usr/bin/env bash
# Distributed training, as mmdet's tools/dist_train.sh:
#   bash tools/dist_train.sh CONFIG GPUS [train.py args...]
# NNODES, NODE_RANK, PORT and MASTER_ADDR select a multi-node run. On machines without GPUs
# the processes train on the CPU with the gloo backend.
# shellcheck source=tools/launch_common.sh
source "$(dirname "$0")/launch_common.sh"
CONFIG=$1
GPUS=$2
dist_launch "$GPUS" train.py "$CONFIG" --launcher pytorch "${@:3}"
