# Controlled baseline of ../rfcn/rfcn_r101-c4_1x_coco.py (differs from it only in the RoI head).
# Base: faster-rcnn_roialign_r50-c4_1x_coco.py, whose header says how it differs from the paper;
# differs from it only in depth and pretrained weights.
_base_ = './faster-rcnn_roialign_r50-c4_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
