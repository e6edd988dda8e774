# R-FCN (Dai et al., 2016), ResNet-50 (caffe style), COCO 2017, 1x: the reference R-FCN config.
# Model: ../_base_/models/rfcn_r50-c4.py; data, schedule and runtime: the mmdet _base_ files of
# mmdet's faster-rcnn_r50-caffe_c4-1x_coco.py, with the paper's weight decay, 0.0005.
# Differs from the paper: 800x1333 images (paper: shorter side 600); mmdet's 1x schedule, 16
# images per step at lr 0.02 for 12 epochs of train2017 (paper: 8 images per step, lr 0.001 for
# 90k steps then 0.0001 for 30k); end-to-end training (paper: 4-step alternating training);
# mmdet's C4 RPN (15 anchors, 1024-channel conv); PSRoIPool bins rounded as torchvision's
# ps_roi_pool, not as the original Caffe layer.
# Controlled baseline: ../baselines/faster-rcnn_roialign_r50-c4_1x_coco.py (only the RoI head
# differs).
_base_ = [
    '../_base_/models/rfcn_r50-c4.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(weight_decay=0.0005))
