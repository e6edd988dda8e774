# R-FCN, ResNet-101, PASCAL VOC 07+12, with OHEM: the paper's VOC setting.
# Base: rfcn_r50-c4_ohem_voc0712.py; differs only in depth and pretrained weights.
_base_ = './rfcn_r50-c4_ohem_voc0712.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
