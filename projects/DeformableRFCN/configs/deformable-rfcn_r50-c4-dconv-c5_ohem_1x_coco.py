# Deformable R-FCN (Dai et al., 2017), ResNet-50 (caffe style), COCO 2017, 1x, OHEM: the setting
# of the public Deformable-ConvNets R-FCN (there on ResNet-101).
# Base: ../../../configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py (300 proposals, OHEM keeping the 128
# RoIs of highest classification + box loss per image as the public code's BoxAnnotatorOHEM,
# test NMS 0.3). Differences (both from ./_base_/deformable-rfcn_parts.py): deformable
# convolution (mmcv's DCN, 4 offset groups, dilation 2) in every 3x3 conv of res5, and deformable
# PS RoI pooling (k=7, 7x7 parts, 4x4 samples per bin, trans_std=0.1) whose class-specific and
# box offsets come from 1x1 convs on the head's hidden features, PS-pooled without offsets.
# Differs from the public code: 800x1333 images (there: shorter side 600, longer at most 1000);
# mmdet's 1x schedule (there: 8 images per step, 8 epochs of trainval2014 with a warm-up, lr
# divided by 10 after 5.33 epochs); mmdet's C4 RPN (15 anchors, 1024-channel conv; there: 12
# anchors).
# Controlled baseline: baselines/faster-rcnn_roialign_r50-c4-dconv-c5_ohem_1x_coco.py (only the RoI
# head differs).
_base_ = [
    '../../../configs/rfcn/rfcn_r50-c4_ohem_1x_coco.py',
    './_base_/deformable-rfcn_parts.py',
]
custom_imports = dict(imports=['mmdet_psroi.plugin', 'projects.DeformableRFCN.deformable_rfcn'],
                      allow_failed_imports=False)

model = dict(backbone=_base_.dconv_c5, roi_head=_base_.deformable_roi_head)
