# Deformable R-FCN, ResNet-50, PASCAL VOC 07+12 trainval -> VOC 2007 test, OHEM.
# Base: ../../../configs/rfcn/rfcn_r50-c4_ohem_voc0712.py (20 classes, mmdet's voc0712 data,
# 4-epoch schedule, the paper's OHEM) with the model changes of
# deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py (./_base_/deformable-rfcn_parts.py).
# Differs from the public code: mmdet's VOC schedule, 16 images per step at lr 0.01 for 4 epochs
# of the 3x repeated set (there: 4 images per step, 7 epochs with a warm-up, lr divided by 10
# after 4.83); mmdet's C4 RPN (15 anchors, 1024-channel conv; there: 9 anchors).
# Controlled baseline: baselines/faster-rcnn_roialign_r50-c4-dconv-c5_ohem_voc0712.py (only the RoI
# head differs).
_base_ = [
    '../../../configs/rfcn/rfcn_r50-c4_ohem_voc0712.py',
    './_base_/deformable-rfcn_parts.py',
]
custom_imports = dict(imports=['mmdet_psroi.plugin', 'projects.DeformableRFCN.deformable_rfcn'],
                      allow_failed_imports=False)

model = dict(backbone=_base_.dconv_c5, roi_head=_base_.deformable_roi_head)
