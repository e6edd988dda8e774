# mmdet's stock Faster R-CNN C4, ResNet-50 caffe, PASCAL VOC 07+12: mmdet's C4 model with 20
# classes on the dataset and schedule bases of ../rfcn/rfcn_r50-c4_ohem_voc0712.py (mmdet's
# voc0712 data, its 4-epoch VOC schedule, weight decay 0.0001). Not a controlled baseline:
# besides the RoI head it keeps mmdet's settings (no OHEM, 2000/1000 proposals, 512 sampled RoIs,
# test NMS 0.5, per-class boxes, L1 box loss); the controlled one is
# faster-rcnn_roialign_r50-c4_ohem_voc0712.py.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    'mmdet::_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc_4e.py',
    'mmdet::_base_/default_runtime.py',
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
