# Controlled baseline of ../deformable-rfcn_r101-c4-dconv-c5_ohem_1x_coco.py (only the RoI head
# differs). Base: faster-rcnn_roialign_r50-c4-dconv-c5_ohem_1x_coco.py; differs from it only in
# depth and pretrained weights.
_base_ = './faster-rcnn_roialign_r50-c4-dconv-c5_ohem_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
