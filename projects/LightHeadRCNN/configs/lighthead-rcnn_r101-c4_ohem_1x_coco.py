# Light-Head R-CNN, ResNet-101 (caffe style), COCO 2017, 1x, OHEM: the paper's R-101 setting.
# Base: lighthead-rcnn_r50-c4_ohem_1x_coco.py, whose header lists the differences from the paper;
# differs from it only in depth and pretrained weights.
# Controlled baseline: baselines/faster-rcnn_roialign_lighthead-settings_r101-c4_ohem_1x_coco.py
# (only the RoI head differs).
_base_ = './lighthead-rcnn_r50-c4_ohem_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
