# Deformable R-FCN, ResNet-50, PASCAL VOC 07+12 trainval -> VOC 2007 test, OHEM.
# Base: ../../../configs/rfcn/rfcn_r50-c4_ohem_voc0712.py (20 classes, mmdet's voc0712 data,
# 4-epoch schedule) with the model changes of deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py
# (./_base_/deformable-rfcn_parts.py).
_base_ = [
    '../../../configs/rfcn/rfcn_r50-c4_ohem_voc0712.py',
    './_base_/deformable-rfcn_parts.py',
]
custom_imports = dict(imports=['mmdet_psroi', 'projects.DeformableRFCN.deformable_rfcn'],
                      allow_failed_imports=False)

model = dict(backbone=_base_.dconv_c5, roi_head=_base_.deformable_roi_head)
