# R-FCN, ResNet-50 (caffe style), COCO 2017, 1x schedule: the reference R-FCN config.
# Same data, schedule and runtime as mmdet's faster-rcnn_r50-caffe_c4-1x_coco.py (built from
# the same mmdet _base_ files) except the paper's weight decay, 0.0005 (section 2); the model
# is R-FCN (see ../_base_/models/rfcn_r50-c4.py).
_base_ = [
    '../_base_/models/rfcn_r50-c4.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(weight_decay=0.0005))
