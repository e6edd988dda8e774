# Baseline for rfcn/rfcn_r50-c4_ohem_voc0712.py: Faster R-CNN C4 with RoI Align, ResNet-50,
# VOC 07+12 with the same dataset and schedule bases (no OHEM, as mmdet's C4 config).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    'mmdet::_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc_4e.py',
    'mmdet::_base_/default_runtime.py',
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
