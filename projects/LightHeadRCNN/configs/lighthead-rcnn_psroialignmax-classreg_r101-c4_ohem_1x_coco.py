# Light-Head R-CNN, ResNet-101, COCO, 1x, OHEM, with the public code's two choices instead of
# the paper's: the max over each bin's 2x2 PSRoIAlign samples (PSRoIAlignMax) instead of their
# mean, and one box per class instead of a class-agnostic box.
# Base: lighthead-rcnn_r101-c4_ohem_1x_coco.py; differs only in those two settings (its other
# differences from the paper are the base's).
# Controlled baseline: baselines/faster-rcnn_roialign_lighthead-settings_r101-c4_ohem_1x_coco.py
# (only the RoI head differs; its boxes stay class-agnostic).
_base_ = './lighthead-rcnn_r101-c4_ohem_1x_coco.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(_delete_=True, type='PSRoIAlignMax', sampling_ratio=2)),
        bbox_head=dict(reg_class_agnostic=False)))
