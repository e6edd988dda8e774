# Baseline for rfcn/rfcn_r101-c4_ohem_voc0712.py: Faster R-CNN C4 with RoI Align,
# ResNet-101, VOC 07+12. Base: faster-rcnn_r50-caffe-c4_voc0712.py with depth 101.
_base_ = './faster-rcnn_r50-caffe-c4_voc0712.py'

resnet101_caffe = dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')
model = dict(
    backbone=dict(depth=101, init_cfg=resnet101_caffe),
    roi_head=dict(shared_head=dict(depth=101, init_cfg=resnet101_caffe)))
