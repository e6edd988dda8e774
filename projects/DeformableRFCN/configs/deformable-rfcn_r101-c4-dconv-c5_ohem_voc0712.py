# Deformable R-FCN, ResNet-101, PASCAL VOC 07+12, OHEM: the paper's VOC setting.
# Base: deformable-rfcn_r50-c4-dconv-c5_ohem_voc0712.py, whose header lists the differences from
# the public code; differs from it only in depth and weights.
# Controlled baseline: baselines/faster-rcnn_roialign_r101-c4-dconv-c5_ohem_voc0712.py (only the RoI
# head differs).
_base_ = './deformable-rfcn_r50-c4-dconv-c5_ohem_voc0712.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
