# Shared base of the NEON tree-crown demo (make demo): MobileNetV2 (ImageNet weights converted
# by tools/model_converters/mobilenetv2_to_mmdet.py) with a small FPN (strides 8, 16, 32; 64
# channels) for the small tree crowns, RPN and RoI head on every level, 400 px aerial tiles at
# their native size, one class, a short CPU schedule (500 iterations of batch 2, sized so that
# `make demo` trains all three models in about 20 min on 2 cores).
# Base: mmdet's Faster R-CNN C4 model, COCO dataset and runtime files; this file swaps the
# backbone and data and sets the RoI head to RoI Align + 2 fc (the baseline), with R-FCN's box
# settings (../../_base_/models/box_settings.py), as every head of the demo. The configs next
# to it differ from each other only in the RoI head.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py',
    '../../_base_/models/box_settings.py',
]
custom_imports = dict(imports=['mmdet_psroi.plugin'], allow_failed_imports=False)

data_root = 'data/neon_trees/'
classes = ('tree', )
image_size = (400, 400)
max_iters = 500
feat_channels = 64
strides = [8, 16, 32]

model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 6),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='data/weights/mobilenetv2_mmdet.pth')),
    neck=dict(type='FPN', in_channels=[32, 96, 320], out_channels=feat_channels, num_outs=3),
    rpn_head=dict(
        in_channels=feat_channels,
        feat_channels=feat_channels,
        anchor_generator=dict(scales=[4], ratios=[0.5, 1.0, 2.0], strides=strides)),
    roi_head=dict(
        _delete_=True,
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2),
            out_channels=feat_channels,
            featmap_strides=strides),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=feat_channels,
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes=len(classes),
            **_base_.box_settings)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=2000, max_per_img=600),
        rcnn=dict(sampler=dict(num=256))),
    test_cfg=dict(
        rpn=dict(nms_pre=2000, max_per_img=300),
        rcnn=dict(score_thr=0.05, max_per_img=150)))

# The val scene is a dense conifer stand with larger, touching crowns and deep shadows; the
# train scene has sparser, smaller trees in a meadow. Scale jitter (zoom in up to 1.6x, crop
# back to 400 px) and photometric distortion narrow that gap (trials: docs/neon_demo.md).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.8, 1.6), keep_ratio=True),
    dict(type='RandomCrop', crop_size=image_size, allow_negative_crop=False),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes),
                 ann_file='annotations/train.json', data_prefix=dict(img=''),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes),
                 ann_file='annotations/val.json', data_prefix=dict(img=''),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json', metric='bbox',
                     backend_args=None)
test_evaluator = val_evaluator

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# AdamW: on a short CPU schedule it learned several times faster than SGD. Tiles are kept at
# their native 400 px rather than upscaled (trials of both: docs/neon_demo.md).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(max_iters * 0.75)], gamma=0.1),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, deterministic=False)
auto_scale_lr = dict(enable=False, base_batch_size=2)
