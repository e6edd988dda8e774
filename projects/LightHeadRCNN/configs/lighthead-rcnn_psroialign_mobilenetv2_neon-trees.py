# NEON trees demo, Light-Head R-CNN: the RoI head of the demo's baseline
# (configs/neon_trees/_base_/mobilenetv2_neon-trees.py) replaced by Light-Head's: a large
# separable conv (15, C_mid 64: the paper's small-model width) makes 10*7*7 thin maps on each
# FPN level once per image (weights shared across levels), each RoI is PSRoIAligned (7x7, 2x2
# samples averaged) from the level its size maps to, then fc 2048 and class-agnostic boxes.
# Same backbone, RPN, data, sampler (no OHEM, as the demo's other models) and schedule, so
# tools/ablation.py compares it with the demo's three models. Differs from the paper in the
# backbone (MobileNetV2 + FPN instead of a single stride-16 map) and the missing OHEM. Its
# results and the head variants tried against it: the project README and docs/neon_demo.md.
_base_ = [
    '../../../configs/neon_trees/_base_/mobilenetv2_neon-trees.py',
    './_base_/lighthead-rcnn_head.py',
]
custom_imports = dict(imports=['mmdet_psroi.plugin', 'projects.LightHeadRCNN.lighthead_rcnn'],
                      allow_failed_imports=False)

model = dict(
    roi_head=dict(
        _base_.lighthead_roi_head,
        thin_map_conv=dict(_base_.lighthead_roi_head.thin_map_conv,
                           in_channels={{_base_.feat_channels}}, mid_channels=64),
        bbox_roi_extractor=dict(_base_.lighthead_roi_head.bbox_roi_extractor,
                                featmap_strides={{_base_.strides}}),
        bbox_head=dict(_base_.lighthead_roi_head.bbox_head, num_classes=1,
                       **_base_.box_settings)))
