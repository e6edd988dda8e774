# Running the R-FCN and Deformable R-FCN models of Deformable-ConvNets (MXNet), converted by
# tools/model_converters/deformable_convnets_to_mmdet.py, as the authors test them
# (experiments/rfcn/cfgs/resnet_v1_101_{coco,voc0712}_trainval_rfcn[_dcn]_end2end_ohem.yaml,
# rfcn/core/tester.py). Set into the model of an R-FCN / Deformable R-FCN ResNet-101 config:
# - input: RGB less the means 123.15, 115.90, 103.06 (PIXEL_MEANS, listed there as B, G, R),
#   std 1, no padding (IMAGE_STRIDE 0); images resized to shorter side 600, longer <= 1000;
# - backbone: ResNet-v1-101 with Caffe's stem pooling (CaffeStemResNet), frozen BN; Deformable
#   R-FCN's deformable convolutions sample as the authors' kernel (OriginalDCN);
# - RPN: 512-channel conv, 12 anchors (scales 4, 8, 16, 32 x ratios 0.5, 1, 2 of 16 pixels,
#   py-faster-rcnn's rounding), boxes decoded as py-faster-rcnn's (+1 pixel widths, boxes
#   spanning center -+ (w - 1) / 2: PyFasterRCNNBBoxCoder); 6000 boxes into NMS at 0.7,
#   300 proposals, no minimum size;
# - head: the original PS RoI pooling rules (rule='caffe' for R-FCN's PSRoIPool, 'mxnet' for
#   Deformable R-FCN's DeformPSRoIPool), class-agnostic boxes decoded as
#   the RPN's, with stds 1 (the converter folds the training stds into the weights as the
#   authors' checkpoints do), detections above 0.001 suppressed per class at 0.3 IoU (+1 areas),
#   100 per image.
# Known difference: the authors' proposal layer skips the anchors of the last feature row or
# column where the feature map reaches past image size / 16; mmdet's RPN keeps them.
deformable_convnets_model = dict(
    data_preprocessor=dict(mean=[123.15, 115.90, 103.06], std=[1.0, 1.0, 1.0], bgr_to_rgb=True,
                           pad_size_divisor=1),
    backbone=dict(type='CaffeStemResNet', depth=101, init_cfg=None),
    rpn_head=dict(
        feat_channels=512,
        anchor_generator=dict(type='PyFasterRCNNAnchorGenerator', scales=[4, 8, 16, 32],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='PyFasterRCNNBBoxCoder')),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(rule='caffe')),
        bbox_head=dict(bbox_coder=dict(type='PyFasterRCNNBBoxCoder',
                                       target_stds=[1.0, 1.0, 1.0, 1.0]))),
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=300, min_bbox_size=-1,
                 nms=dict(type='nms', iou_threshold=0.7, offset=1)),
        rcnn=dict(score_thr=0.001, max_per_img=100,
                  nms=dict(type='nms', iou_threshold=0.3, offset=1))))
# Deformable R-FCN: res5's deformable convolutions sample as the authors' kernel (OriginalDCN).
deformable_convnets_dcn_model = dict(
    deformable_convnets_model,
    backbone=dict(deformable_convnets_model['backbone'], dcn=dict(type='OriginalDCN')),
    roi_head=dict(deformable_convnets_model['roi_head'],
                  bbox_roi_extractor=dict(roi_layer=dict(rule='mxnet'))))
deformable_convnets_test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]))
