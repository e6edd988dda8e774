# Light-Head R-CNN (Li et al., 2017), ResNet-50 (caffe style), COCO 2017, 1x, OHEM.
# Base: the package's R-FCN R-50 config (dilated conv5 at stride 16, RPN on conv4, 15 anchors:
# scales 2-32 on a base of 16, ratios 0.5/1/2; 800x1333 images; mmdet's 1x schedule; test NMS
# 0.3). Set here as the paper and its public code: RPN 3x3 conv of 512 channels; 2000 proposals
# per image in training, 1000 at test; OHEM keeping the 256 RoIs of highest classification +
# box loss per image (TotalLossOHEMSampler); weight decay 0.0001; the RoI head: large separable
# conv (15, C_mid 256) -> 10*7*7 thin maps once per image, PSRoIAlign 7x7 with 2x2 samples
# averaged, fc 2048, class-agnostic boxes.
# Differs from the paper and its public code: OHEM ranks each image's RoIs (the public code
# ranks the 2 images of a GPU together and keeps 512); mmdet's 1x schedule, 16 images per step
# at lr 0.02 for 12 epochs (public code: 16 images per step, lr divided by 10 after 1.52M
# images and again after 2M, 2.4M images in all).
# Controlled baseline: baselines/faster-rcnn_roialign_lighthead-settings_r50-c4_ohem_1x_coco.py
# (only the RoI head differs).
_base_ = [
    '../../../configs/rfcn/rfcn_r50-c4_1x_coco.py',
    './_base_/lighthead-rcnn_head.py',
]
custom_imports = dict(imports=['mmdet_psroi.plugin', 'projects.LightHeadRCNN.lighthead_rcnn'],
                      allow_failed_imports=False)

model = dict(
    rpn_head=dict(feat_channels=512),
    roi_head=dict(
        _base_.lighthead_roi_head,
        thin_map_conv=dict(_base_.lighthead_roi_head.thin_map_conv, in_channels=2048,
                           mid_channels=256),
        bbox_roi_extractor=dict(_base_.lighthead_roi_head.bbox_roi_extractor,
                                featmap_strides=[16]),
        bbox_head=dict(_base_.lighthead_roi_head.bbox_head, num_classes=80,
                       **_base_.box_settings)),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=2000),
        rcnn=dict(sampler=dict(_delete_=True, type='TotalLossOHEMSampler', num=256,
                               add_gt_as_proposals=True))),
    test_cfg=dict(rpn=dict(max_per_img=1000)))
optim_wrapper = dict(optimizer=dict(weight_decay=0.0001))
