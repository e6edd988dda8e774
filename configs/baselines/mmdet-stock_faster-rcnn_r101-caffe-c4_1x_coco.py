# Baseline for rfcn/rfcn_r101-c4_1x_coco.py: Faster R-CNN C4 with RoI Align, ResNet-101
# caffe, COCO 1x. Base: faster-rcnn_r50-caffe-c4_1x_coco.py; depth 101 in the backbone and in
# the per-RoI res5 head, with their pretrained weights.
_base_ = './faster-rcnn_r50-caffe-c4_1x_coco.py'

resnet101_caffe = dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')
model = dict(
    backbone=dict(depth=101, init_cfg=resnet101_caffe),
    roi_head=dict(shared_head=dict(depth=101, init_cfg=resnet101_caffe)))
