# Deformable R-FCN, ResNet-50 (caffe style), COCO 2017, 1x, OHEM: the setting of the public
# Deformable-ConvNets R-FCN (there on ResNet-101).
# Base: ../../../configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py. Differences (both from
# ./_base_/deformable-rfcn_parts.py): deformable convolution
# (mmcv's DCN, 4 offset groups, dilation 2) in every 3x3 conv of res5, and deformable PS RoI
# pooling (k=7, 7x7 parts, 4x4 samples per bin, trans_std=0.1) whose class-specific and box
# offsets come from 1x1 convs on the head's hidden features, PS-pooled without offsets.
_base_ = [
    '../../../configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py',
    './_base_/deformable-rfcn_parts.py',
]
custom_imports = dict(imports=['mmdet_psroi', 'projects.DeformableRFCN.deformable_rfcn'],
                      allow_failed_imports=False)

model = dict(backbone=_base_.dconv_c5, roi_head=_base_.deformable_roi_head)
