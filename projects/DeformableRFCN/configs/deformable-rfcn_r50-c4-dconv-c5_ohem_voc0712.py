# Deformable R-FCN, ResNet-50, PASCAL VOC 07+12 trainval -> VOC 2007 test, OHEM.
# Base: ../../../configs/rfcn/rfcn_r50-c4_ohem_voc0712.py (20 classes, mmdet's voc0712 data,
# 4-epoch schedule) with the model changes of deformable-rfcn_r50-c4-dconv-c5_ohem_1x_coco.py.
_base_ = '../../../configs/rfcn/rfcn_r50-c4_ohem_voc0712.py'
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
