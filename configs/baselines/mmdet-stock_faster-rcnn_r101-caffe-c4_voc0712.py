# mmdet's stock Faster R-CNN C4, ResNet-101 caffe, PASCAL VOC 07+12. Base:
# mmdet-stock_faster-rcnn_r50-caffe-c4_voc0712.py with depth 101 (backbone and per-RoI res5).
# Not a controlled baseline (see its base); the controlled one is
# faster-rcnn_roialign_r101-c4_ohem_voc0712.py.
_base_ = './mmdet-stock_faster-rcnn_r50-caffe-c4_voc0712.py'

resnet101_caffe = dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')
model = dict(
    backbone=dict(depth=101, init_cfg=resnet101_caffe),
    roi_head=dict(shared_head=dict(depth=101, init_cfg=resnet101_caffe)))
