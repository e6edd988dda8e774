# R-FCN, ResNet-101, PASCAL VOC 07+12, with the paper's OHEM: the paper's VOC setting.
# Base: rfcn_r50-c4_ohem_voc0712.py, whose header lists the differences from the paper; differs
# from it only in depth and pretrained weights.
# Controlled baseline: ../baselines/faster-rcnn_roialign_r101-c4_ohem_voc0712.py (only the RoI
# head differs).
_base_ = './rfcn_r50-c4_ohem_voc0712.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
