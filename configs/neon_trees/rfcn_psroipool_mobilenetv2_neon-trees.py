# NEON trees demo, R-FCN with PSRoIPool: the RoI head of the baseline
# (_base_/mobilenetv2_neon-trees.py) replaced by R-FCN's position-sensitive head (1x1 conv to
# 256 + ReLU, k=7 score maps computed once per image, PS RoI pooling, vote by average).
# Same backbone, RPN, data and schedule.
_base_ = './_base_/mobilenetv2_neon-trees.py'

model = dict(
    type='RFCN',
    roi_head=dict(
        _delete_=True,
        type='RFCNRoIHead',
        bbox_roi_extractor=dict(
            type='PSRoIExtractor',
            roi_layer=dict(type='PSRoIPool', output_size=7),
            featmap_strides={{_base_.strides}}),
        bbox_head=dict(
            type='PSBBoxHead',
            in_channels={{_base_.feat_channels}},
            hidden_channels=256,
            roi_feat_size=7,
            num_classes=1,
            reg_class_agnostic=True,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))))
