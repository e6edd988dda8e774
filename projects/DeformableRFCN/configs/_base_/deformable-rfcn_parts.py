# The two deformable parts of Deformable R-FCN, shared by this folder's configs, which set them
# into their model: deformable convolution (mmcv's DCN, 4 offset groups) in every 3x3 conv of
# res5 (ResNet backbones only), and the deformable RoI head: deformable PS RoI pooling (k x k
# bins with the base's k=7, one offset part per bin, 4x4 samples per bin, trans_std=0.1) whose
# class-specific and box offsets come from 1x1 convs on the head's hidden features, PS-pooled
# without offsets.
dconv_c5 = dict(dcn=dict(type='DCN', deform_groups=4, fallback_on_stride=False),
                stage_with_dcn=(False, False, False, True))
deformable_roi_head = dict(
    type='DeformableRFCNRoIHead',
    bbox_roi_extractor=dict(
        roi_layer=dict(_delete_=True, type='DeformPSRoIPool', sample_per_part=4, trans_std=0.1)),
    bbox_head=dict(type='DeformablePSBBoxHead'))
