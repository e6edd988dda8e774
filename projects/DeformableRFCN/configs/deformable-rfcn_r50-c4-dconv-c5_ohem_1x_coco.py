# Deformable R-FCN, ResNet-50 (caffe style), COCO 2017, 1x, OHEM: the setting of the public
# Deformable-ConvNets R-FCN (there on ResNet-101).
# Base: ../../../configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py. Differences: deformable convolution
# (mmcv's DCN, 4 offset groups, dilation 2) in every 3x3 conv of res5, and deformable PS RoI
# pooling (k=7, 7x7 parts, 4x4 samples per bin, trans_std=0.1) whose class-specific and box
# offsets come from 1x1 convs on the head's hidden features, PS-pooled without offsets.
_base_ = '../../../configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py'
custom_imports = dict(imports=['mmdet_psroi', 'projects.DeformableRFCN.deformable_rfcn'],
                      allow_failed_imports=False)

model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=4, fallback_on_stride=False),
        stage_with_dcn=(False, False, False, True)),
    roi_head=dict(
        type='DeformableRFCNRoIHead',
        bbox_roi_extractor=dict(
            type='DeformPSRoIExtractor',
            roi_layer=dict(_delete_=True, type='DeformPSRoIPool', output_size=7, part_size=7,
                           sample_per_part=4, trans_std=0.1)),
        bbox_head=dict(type='DeformablePSBBoxHead')))
