# Ablation: the R-FCN head on FPN. Base: mmdet's faster-rcnn_r50_fpn_1x_coco.py (pytorch-style
# ResNet-50, FPN, RPN on every level), from which it differs only in the RoI head: R-FCN's
# position-sensitive head (k=7, PSRoIAlign with 2x2 samples per bin, hidden width 256,
# class-agnostic boxes) reading every FPN level (256 channels), RoIs mapped to levels by scale,
# instead of RoIAlign + two fc layers of 1024 with per-class boxes. Everything else is mmdet's
# FPN setting and differs from the R-FCN paper (which has no FPN) and from the C4 configs:
# L1 box loss (paper: smooth L1), 1000 proposals in training and at test (paper: 300), 512 RoIs
# sampled per image with up to 25 % positives (paper: 128), test NMS 0.5 (paper: 0.3), weight
# decay 0.0001 (paper: 0.0005), pytorch-style ResNet-50 with torchvision weights.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_psroi.plugin'], allow_failed_imports=False)

model = dict(
    type='RFCN',
    roi_head=dict(
        type='RFCNRoIHead',
        bbox_roi_extractor=dict(
            _delete_=True,
            type='PSRoIExtractor',
            roi_layer=dict(type='PSRoIAlign', sampling_ratio=2),
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            _delete_=True,
            type='PSBBoxHead',
            in_channels=256,
            hidden_channels=256,
            roi_feat_size=7,
            num_classes=80,
            reg_class_agnostic=True,
            # mmdet's FPN box coder and losses (an L1 box loss), as its Faster R-CNN
            bbox_coder=_base_.model.roi_head.bbox_head.bbox_coder,
            loss_cls=_base_.model.roi_head.bbox_head.loss_cls,
            loss_bbox=_base_.model.roi_head.bbox_head.loss_bbox)))
