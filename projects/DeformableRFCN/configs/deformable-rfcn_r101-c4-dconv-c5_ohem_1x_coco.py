# Deformable R-FCN, ResNet-101 (caffe style), COCO 2017, 1x, OHEM: the public code's backbone.
# Base: deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py, whose header lists the differences from
# the public code; differs from it only in depth and weights.
# Controlled baseline: baselines/faster-rcnn_roialign_r101-c4-dconv-c5_ohem_1x_coco.py (only the RoI
# head differs).
_base_ = './deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
