# Light-Head R-CNN (Li et al., 2017), ResNet-50 (caffe style), COCO 2017, 1x, the paper's
# setting. Base: the package's R-FCN R-50 config (same dilated conv5 at stride 16, RPN on
# conv4, 15 anchors: scales 2-32 on a base of 16, ratios 0.5/1/2; 800/1333 images; mmdet's 1x
# schedule). Differences: RPN 3x3 conv of 512 channels; 2000 proposals after NMS in training
# (mmdet's C4 default), 1000 at test; OHEM keeps the 256 RoIs of highest classification loss
# per image (mmdet's OHEMSampler; the paper ranks by classification + box loss); the RoI head
# is Light-Head's: large separable conv (15, C_mid 256) -> 10*7*7 thin maps once per image,
# PSRoIAlign 7x7 with 2x2 samples averaged (paper), fc 2048, class-agnostic boxes (paper).
_base_ = '../../../configs/rfcn/rfcn_r50-c4_1x_coco.py'
custom_imports = dict(imports=['mmdet_psroi', 'projects.LightHeadRCNN.lighthead_rcnn'],
                      allow_failed_imports=False)

alpha = 10  # thin maps per bin (paper: 10; R-FCN would use num_classes + 1)
k = 7

model = dict(
    rpn_head=dict(feat_channels=512),
    roi_head=dict(
        _delete_=True,
        type='LightHeadRoIHead',
        thin_map_conv=dict(
            type='LargeSeparableConv',
            in_channels=2048,
            mid_channels=256,
            out_channels=alpha * k * k,
            kernel_size=15),
        bbox_roi_extractor=dict(
            type='LightHeadRoIExtractor',
            # 'PSRoIAlignMax' takes the max over the 2x2 samples (the public code's choice)
            roi_layer=dict(type='PSRoIAlign', output_size=k, sampling_ratio=2),
            featmap_strides=[16]),
        bbox_head=dict(
            type='ConvFCBBoxHead',
            num_shared_convs=0,
            num_shared_fcs=1,
            in_channels=alpha,
            fc_out_channels=2048,
            roi_feat_size=k,
            num_classes=80,
            reg_class_agnostic=True,  # False: per-class boxes (the public code's choice)
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=2000),
        rcnn=dict(sampler=dict(_delete_=True, type='OHEMSampler', num=256, pos_fraction=0.25,
                               neg_pos_ub=-1, add_gt_as_proposals=True))),
    test_cfg=dict(rpn=dict(max_per_img=1000)))
