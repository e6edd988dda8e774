# Model base: R-FCN with a ResNet-50 (caffe style) backbone, COCO's 80 classes.
# Base: mmdet's Faster R-CNN C4 model (same RPN, data preprocessor, pretrained weights,
# assigners). Differences, from the paper (section 2): conv5 kept at stride 16 with
# dilation 2; the RPN reads conv4 and the RoI head reads conv5; the per-RoI res5 head +
# RoIAlign is replaced by R-FCN's position-sensitive head (k=7, PSRoIPool, class-agnostic
# boxes) whose score maps are computed once per image; 300 RoIs per image in training and at
# test, 128 of them sampled per image for the loss; detections suppressed at 0.3 IoU.
# The paper's weight decay (0.0005) is set in the configs that add the schedule.
# Also carries the box settings (./box_settings.py) and the RoI head of the controlled
# baselines (./roialign-2fc_head.py), which configs built on this one share.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    './roialign-2fc_head.py',
]
custom_imports = dict(imports=['mmdet_psroi.plugin'], allow_failed_imports=False)

model = dict(
    type='RFCN',
    rpn_in_indices=(0, ),
    roi_in_indices=(1, ),
    backbone=dict(
        num_stages=4,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(2, 3)),
    roi_head=dict(
        _delete_=True,
        type='RFCNRoIHead',
        bbox_roi_extractor=dict(
            type='PSRoIExtractor',
            roi_layer=dict(type='PSRoIPool'),
            featmap_strides=[16]),
        bbox_head=dict(
            type='PSBBoxHead',
            in_channels=2048,
            hidden_channels=1024,
            roi_feat_size=7,  # k, also the extractor's output size
            num_classes=80,
            **_base_.box_settings)),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(max_per_img=300),
        rcnn=dict(nms=dict(type='nms', iou_threshold=0.3))))
