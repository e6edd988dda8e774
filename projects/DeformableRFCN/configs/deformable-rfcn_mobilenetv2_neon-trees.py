# NEON trees demo, Deformable R-FCN: ../../../configs/neon_trees/rfcn_psroialign_mobilenetv2_
# neon-trees.py with deformable PS RoI pooling (k=7, 7x7 parts, 4x4 samples per bin,
# trans_std=0.1) on every FPN level. Same backbone (MobileNetV2 has no deformable conv
# option), RPN, data and schedule.
_base_ = [
    '../../../configs/neon_trees/rfcn_psroialign_mobilenetv2_neon-trees.py',
    './_base_/deformable-rfcn_parts.py',
]
custom_imports = dict(imports=['mmdet_psroi.plugin', 'projects.DeformableRFCN.deformable_rfcn'],
                      allow_failed_imports=False)

model = dict(roi_head=_base_.deformable_roi_head)
