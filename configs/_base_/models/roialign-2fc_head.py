# The RoI head of the controlled Faster R-CNN baselines (configs/baselines/faster-rcnn_roialign_*
# and the projects' faster-rcnn_roialign_* configs), which set it into the config of the
# position-sensitive detector they pair with: mmdet's Faster R-CNN DC5 RoI head (RoIAlign 7x7,
# adaptive sampling, on the 2048-channel dilated conv5 at stride 16, then two fc layers of 1024
# per RoI) with R-FCN's box settings (class-agnostic boxes, target stds 0.1/0.2, cross-entropy
# and smooth L1 losses) so that only the head architecture differs. mmdet's DC5 config uses
# per-class boxes and an L1 loss.
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
        reg_class_agnostic=True,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)))
