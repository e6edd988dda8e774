# R-FCN, ResNet-101, COCO, 1x, with OHEM: the paper's COCO setting.
# Base: rfcn_r50-c4_ohem_1x_coco.py; differs only in depth and pretrained weights.
_base_ = './rfcn_r50-c4_ohem_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
