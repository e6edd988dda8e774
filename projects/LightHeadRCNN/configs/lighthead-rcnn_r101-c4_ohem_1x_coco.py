# Light-Head R-CNN, ResNet-101 (caffe style), COCO 2017, 1x, OHEM: the paper's R-101 setting
# (its COCO table: 39.3 mmAP with PSRoIAlign, 40.0 with NMS 0.5, which mmdet's test config
# already uses). Base: lighthead-rcnn_r50-c4_ohem_1x_coco.py; differs only in depth and
# pretrained weights.
_base_ = './lighthead-rcnn_r50-c4_ohem_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
