# Light-Head R-CNN (Li et al., 2017), ResNet-50 (caffe style), COCO 2017, 1x, the paper's
# setting. Base: the package's R-FCN R-50 config (same dilated conv5 at stride 16, RPN on
# conv4, 15 anchors: scales 2-32 on a base of 16, ratios 0.5/1/2; 800/1333 images; mmdet's 1x
# schedule). Differences: RPN 3x3 conv of 512 channels; 2000 proposals after NMS in training
# (mmdet's C4 default), 1000 at test; OHEM keeps the 256 RoIs of highest classification loss
# per image (mmdet's OHEMSampler; the paper ranks by classification + box loss); the RoI head
# is Light-Head's: large separable conv (15, C_mid 256) -> 10*7*7 thin maps once per image,
# PSRoIAlign 7x7 with 2x2 samples averaged (paper), fc 2048, class-agnostic boxes (paper).
_base_ = [
    '../../../configs/rfcn/rfcn_r50-c4_1x_coco.py',
    './_base_/lighthead-rcnn_head.py',
]
custom_imports = dict(imports=['mmdet_psroi', 'projects.LightHeadRCNN.lighthead_rcnn'],
                      allow_failed_imports=False)

model = dict(
    rpn_head=dict(feat_channels=512),
    roi_head=dict(
        _base_.lighthead_roi_head,
        thin_map_conv=dict(_base_.lighthead_roi_head.thin_map_conv, in_channels=2048,
                           mid_channels=256),
        bbox_roi_extractor=dict(_base_.lighthead_roi_head.bbox_roi_extractor,
                                featmap_strides=[16]),
        bbox_head=dict(_base_.lighthead_roi_head.bbox_head, num_classes=80)),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=2000),
        rcnn=dict(sampler=dict(_delete_=True, type='OHEMSampler', num=256, pos_fraction=0.25,
                               neg_pos_ub=-1, add_gt_as_proposals=True))),
    test_cfg=dict(rpn=dict(max_per_img=1000)))
