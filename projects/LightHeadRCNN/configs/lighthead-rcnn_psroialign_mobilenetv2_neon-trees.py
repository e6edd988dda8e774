# NEON trees demo, Light-Head R-CNN: the RoI head of the demo's baseline
# (configs/neon_trees/_base_/mobilenetv2_neon-trees.py) replaced by Light-Head's: a large
# separable conv (15, C_mid 64: the paper's small-model width) makes 10*7*7 thin maps on each
# FPN level once per image (weights shared across levels), each RoI is PSRoIAligned (7x7, 2x2
# samples averaged) from the level its size maps to, then fc 2048 and class-agnostic boxes.
# Same backbone, RPN, data, sampler (no OHEM, as the demo's other models) and schedule, so
# tools/ablation.py compares it with the demo's three models.
_base_ = '../../../configs/neon_trees/_base_/mobilenetv2_neon-trees.py'
custom_imports = dict(imports=['mmdet_psroi', 'projects.LightHeadRCNN.lighthead_rcnn'],
                      allow_failed_imports=False)

alpha = 10
k = 7

model = dict(
    roi_head=dict(
        _delete_=True,
        type='LightHeadRoIHead',
        thin_map_conv=dict(
            type='LargeSeparableConv',
            in_channels={{_base_.feat_channels}},
            mid_channels=64,
            out_channels=alpha * k * k,
            kernel_size=15),
        bbox_roi_extractor=dict(
            type='LightHeadRoIExtractor',
            roi_layer=dict(type='PSRoIAlign', output_size=k, sampling_ratio=2),
            featmap_strides={{_base_.strides}}),
        bbox_head=dict(
            type='ConvFCBBoxHead',
            num_shared_convs=0,
            num_shared_fcs=1,
            in_channels=alpha,
            fc_out_channels=2048,
            roi_feat_size=k,
            num_classes=1,
            reg_class_agnostic=True,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))))
