# The RoI head of the controlled Faster R-CNN baselines (configs/baselines/faster-rcnn_roialign_*
# and the projects' faster-rcnn_roialign_* configs): mmdet's Faster R-CNN DC5 RoI head (RoIAlign
# 7x7, adaptive sampling, on the 2048-channel dilated conv5 at stride 16, then two fc layers of
# 1024 per RoI) with R-FCN's box settings (./box_settings.py), so that only the head
# architecture differs (mmdet's DC5 config uses per-class boxes and an L1 loss). R-FCN's model
# base (./rfcn_r50-c4.py) carries it, so a baseline is its partner config with
# `model = dict(roi_head=_base_.roialign_2fc_roi_head)`.
_base_ = './box_settings.py'

roialign_2fc_roi_head = dict(
    _delete_=True,
    type='StandardRoIHead',
    bbox_roi_extractor=dict(
        type='SingleRoIExtractor',
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
        out_channels=2048,
        featmap_strides=[16]),
    bbox_head=dict(
        type='Shared2FCBBoxHead',
        in_channels=2048,
        fc_out_channels=1024,
        roi_feat_size=7,
        num_classes=80,
        **_base_.box_settings))
