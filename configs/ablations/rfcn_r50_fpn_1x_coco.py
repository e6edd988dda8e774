# Ablation: the R-FCN head on FPN. Base: mmdet's faster-rcnn_r50_fpn_1x_coco.py (pytorch-style
# ResNet-50, FPN, RPN on every level). Differences: the RoI head is R-FCN's, reading every FPN
# level (256 channels) with RoIs mapped to levels by scale, hidden width 256.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_psroi'], allow_failed_imports=False)

model = dict(
    type='RFCN',
    roi_head=dict(
        _delete_=True,
        type='RFCNRoIHead',
        bbox_roi_extractor=dict(
            type='PSRoIExtractor',
            roi_layer=dict(type='PSRoIAlign', output_size=7, sampling_ratio=2),
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='PSBBoxHead',
            in_channels=256,
            hidden_channels=256,
            roi_feat_size=7,
            num_classes=80,
            reg_class_agnostic=True,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
