# mmdet's stock Faster R-CNN C4, ResNet-101 caffe, COCO 1x. Base:
# mmdet-stock_faster-rcnn_r50-caffe-c4_1x_coco.py; depth 101 in the backbone and in the per-RoI
# res5 head, with their pretrained weights. Not a controlled baseline (see its base); the
# controlled one is faster-rcnn_roialign_r101-c4_1x_coco.py.
_base_ = './mmdet-stock_faster-rcnn_r50-caffe-c4_1x_coco.py'

resnet101_caffe = dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')
model = dict(
    backbone=dict(depth=101, init_cfg=resnet101_caffe),
    roi_head=dict(shared_head=dict(depth=101, init_cfg=resnet101_caffe)))
