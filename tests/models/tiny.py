"""A small R-FCN (ResNet-18, k=3) and a synthetic COCO-format dataset for fast tests."""
import copy
import json
import os

import numpy as np
import torch
from mmengine.config import ConfigDict


def tiny_rfcn_cfg(num_classes=2, k=3, roi_layer='PSRoIPool', rcnn_sampler=None,
                  roi_rule=None):
    """An RFCN model config: ResNet-18 with a dilated conv5, RPN on conv4, head on conv5; k is
    stated once, in the box head (``roi_feat_size``), which sets the extractor's output size.
    ``roi_rule``: the roi_layer's ``rule`` (None: its default)."""
    layer = dict(type=roi_layer)
    if roi_rule is not None:
        layer['rule'] = roi_rule
    if roi_layer == 'PSRoIAlign':
        layer['sampling_ratio'] = 2
    sampler = rcnn_sampler or dict(type='RandomSampler', num=64, pos_fraction=0.25,
                                   neg_pos_ub=-1, add_gt_as_proposals=True)
    return ConfigDict(
        type='RFCN',
        rpn_in_indices=(0, ),
        roi_in_indices=(1, ),
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
                               pad_size_divisor=16),
        backbone=dict(type='ResNet', depth=18, num_stages=4, strides=(1, 2, 2, 1),
                      dilations=(1, 1, 1, 2), out_indices=(2, 3), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                      style='pytorch', init_cfg=None),
        rpn_head=dict(
            type='RPNHead', in_channels=256, feat_channels=64,
            anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8],
                                  ratios=[0.5, 1.0, 2.0], strides=[16]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=dict(
            type='RFCNRoIHead',
            bbox_roi_extractor=dict(type='PSRoIExtractor', roi_layer=layer,
                                    featmap_strides=[16]),
            bbox_head=dict(
                type='PSBBoxHead', in_channels=512, hidden_channels=64, roi_feat_size=k,
                num_classes=num_classes, reg_class_agnostic=True,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                target_stds=[0.1, 0.1, 0.2, 0.2]),
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                              min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1,
                             add_gt_as_proposals=False),
                allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=600, max_per_img=100,
                              nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
            rcnn=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                              min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
                sampler=sampler, pos_weight=-1, debug=False)),
        test_cfg=dict(
            rpn=dict(nms_pre=600, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=50)))


def tiny_rfcn_fpn_cfg(**kwargs):
    """``tiny_rfcn_cfg`` on a 32-channel FPN (strides 4-32): RPN and RoI head read every level,
    RoIs are pooled from the level their scale maps to."""
    cfg = tiny_rfcn_cfg(**kwargs)
    cfg.update(rpn_in_indices=None, roi_in_indices=None)
    cfg['backbone'].update(strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1), out_indices=(0, 1, 2, 3))
    cfg['neck'] = dict(type='FPN', in_channels=[64, 128, 256, 512], out_channels=32,
                       num_outs=4)
    cfg['rpn_head'].update(in_channels=32, anchor_generator=dict(
        type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32]))
    cfg['roi_head']['bbox_roi_extractor']['featmap_strides'] = [4, 8, 16, 32]
    cfg['roi_head']['bbox_head'].update(in_channels=32, hidden_channels=32)
    return cfg


def assert_overfitting_halves_the_loss(model, data, steps=40, lr=0.01):
    """Trains ``model`` on one fixed batch ``data`` (SGD, momentum 0.9) for ``steps`` steps and
    checks that the last step's total loss is below half the first's (the message lists the
    loss of every step)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    history = []
    for _ in range(steps):
        losses = model(**copy.deepcopy(data), mode='loss')
        loss, _ = model.parse_losses(losses)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    assert history[-1] < 0.5 * history[0], history


def assert_checkpoint_round_trip_predicts_the_same(model, other, path, data):
    """Saves ``model``'s state dict to ``path``, loads it strictly into ``other`` (the same
    architecture, initialised differently) and checks that both, in eval mode, predict the same
    non-empty boxes and scores on ``data``."""
    from mmengine.runner import load_checkpoint, save_checkpoint

    model.eval()
    other.eval()
    save_checkpoint(model.state_dict(), path)
    load_checkpoint(other, path, map_location='cpu', strict=True)
    with torch.no_grad():
        a = model(**copy.deepcopy(data), mode='predict')
        b = other(**copy.deepcopy(data), mode='predict')
    for x, y in zip(a, b):
        assert len(x.pred_instances.bboxes) > 0
        torch.testing.assert_close(x.pred_instances.bboxes, y.pred_instances.bboxes)
        torch.testing.assert_close(x.pred_instances.scores, y.pred_instances.scores)


def write_coco_dataset(root, num_images=4, size=96, seed=0):
    """Images with bright rectangles (class 0) and dark discs (class 1) + COCO json.

    Returns the annotation file path; images are written under ``root/images``.
    """
    import cv2

    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, 'images'), exist_ok=True)
    images, annotations = [], []
    for index in range(num_images):
        image = np.full((size, size, 3), 127, np.uint8)
        for label in (0, 1):
            w, h = rng.integers(size // 4, size // 2, 2)
            x, y = rng.integers(0, size - w), rng.integers(0, size - h)
            if label == 0:
                image[y:y + h, x:x + w] = 250
            else:
                cv2.ellipse(image, (int(x + w // 2), int(y + h // 2)), (int(w // 2), int(h // 2)),
                            0, 0, 360, (5, 5, 5), -1)
            annotations.append(dict(id=len(annotations) + 1, image_id=index + 1,
                                    category_id=label + 1, bbox=[int(x), int(y), int(w), int(h)],
                                    area=int(w * h), iscrowd=0))
        name = f'{index:03d}.png'
        cv2.imwrite(os.path.join(root, 'images', name), image)
        images.append(dict(id=index + 1, file_name=name, width=size, height=size))
    path = os.path.join(root, 'annotations.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=1, name='box'), dict(id=2, name='disc')]), f)
    return path


def tiny_experiment_cfg(data_root, ann_file, max_iters=2, classes=('box', 'disc')):
    """A complete runner config: tiny R-FCN, the synthetic COCO set, CocoMetric, CPU."""
    pipeline_head = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='Resize', scale=(96, 96), keep_ratio=True)]
    dataset = dict(type='CocoDataset', data_root=data_root, ann_file=ann_file,
                   data_prefix=dict(img='images/'), metainfo=dict(classes=classes))
    test_loader = dict(
        batch_size=1, num_workers=0, drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(dataset, test_mode=True, pipeline=pipeline_head + [dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]))
    evaluator = dict(type='CocoMetric', ann_file=ann_file, metric='bbox')
    return ConfigDict(
        default_scope='mmdet',
        custom_imports=dict(imports=['mmdet_psroi.plugin'], allow_failed_imports=False),
        model=tiny_rfcn_cfg(num_classes=len(classes)),
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(dataset, filter_cfg=dict(filter_empty_gt=True),
                         pipeline=pipeline_head + [dict(type='RandomFlip', prob=0.5),
                                                   dict(type='PackDetInputs')])),
        val_dataloader=test_loader, test_dataloader=test_loader,
        val_evaluator=evaluator, test_evaluator=evaluator,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10 ** 6),
        val_cfg=dict(type='ValLoop'), test_cfg=dict(type='TestLoop'),
        optim_wrapper=dict(type='OptimWrapper',
                           optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                                          weight_decay=1e-4)),
        param_scheduler=[],
        default_hooks=dict(timer=dict(type='IterTimerHook'),
                           logger=dict(type='LoggerHook', interval=1),
                           param_scheduler=dict(type='ParamSchedulerHook'),
                           checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1),
                           sampler_seed=dict(type='DistSamplerSeedHook')),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                     mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0)),
        log_processor=dict(type='LogProcessor', window_size=1, by_epoch=False),
        log_level='INFO', load_from=None, resume=False, randomness=dict(seed=0))
