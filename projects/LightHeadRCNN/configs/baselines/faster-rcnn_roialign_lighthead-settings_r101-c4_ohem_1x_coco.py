# Controlled baseline of ../lighthead-rcnn_r101-c4_ohem_1x_coco.py and of
# ../lighthead-rcnn_psroialignmax-classreg_r101-c4_ohem_1x_coco.py (only the RoI head differs).
# Base: faster-rcnn_roialign_lighthead-settings_r50-c4_ohem_1x_coco.py; differs from it only in
# depth and pretrained weights.
_base_ = './faster-rcnn_roialign_lighthead-settings_r50-c4_ohem_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
