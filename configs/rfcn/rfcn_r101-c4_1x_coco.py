# R-FCN, ResNet-101 (caffe style), COCO, 1x: the paper's backbone.
# Base: rfcn_r50-c4_1x_coco.py; differs only in depth and pretrained weights.
_base_ = './rfcn_r50-c4_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
