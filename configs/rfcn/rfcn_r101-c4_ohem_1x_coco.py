# R-FCN, ResNet-101, COCO, 1x, with the paper's OHEM: the paper's COCO setting.
# Base: rfcn_r50-c4_ohem_1x_coco.py (see it and its base for the differences from the paper);
# differs from it only in depth and pretrained weights.
# Controlled baseline: ../baselines/faster-rcnn_roialign_r101-c4_ohem_1x_coco.py (only the RoI
# head differs).
_base_ = './rfcn_r50-c4_ohem_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
