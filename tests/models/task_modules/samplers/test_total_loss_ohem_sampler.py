"""TotalLossOHEMSampler: R-FCN's OHEM (all RoIs of an image ranked by total loss, top B kept)."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

import mmdet_psroi.plugin  # noqa: F401
from tests.models.tiny import tiny_rfcn_cfg

register_all_modules()

NUM_CLASSES = 3
STDS = [0.1, 0.1, 0.2, 0.2]


def _bbox_head(**kwargs):
    return MODELS.build(dict(
        type='BBoxHead', with_avg_pool=False, in_channels=1, roi_feat_size=1,
        num_classes=NUM_CLASSES, reg_class_agnostic=True,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=STDS),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0), **kwargs))


class TableContext:
    """A RoI head whose ``_bbox_forward`` looks each RoI's outputs up by its box, so that they
    do not depend on the order in which the sampler passes the RoIs."""

    def __init__(self, boxes, cls_score, bbox_pred, bbox_head=None):
        self.bbox_head = bbox_head or _bbox_head()
        self.train_cfg = ConfigDict(pos_weight=-1)
        self.boxes, self.cls_score, self.bbox_pred = boxes, cls_score, bbox_pred
        self.feats_seen = []

    def _bbox_forward(self, feats, rois):
        self.feats_seen.append(feats)
        match = (rois[:, None, 1:] == self.boxes[None]).all(-1)
        assert (match.sum(1) == 1).all(), 'every RoI is a known box'
        index = match.float().argmax(1)
        return dict(cls_score=self.cls_score[index], bbox_pred=self.bbox_pred[index],
                    bbox_feats=None)


def _batch(seed=0):
    """Two ground-truth boxes, 14 proposals (7 positive, 6 negative, 1 ignored) and random
    outputs for all 16 boxes; proposal 0 is a positive whose class score is nearly certain (low
    classification loss) but whose box is far off (the highest box loss)."""
    generator = torch.Generator().manual_seed(seed)
    gt = InstanceData(bboxes=torch.tensor([[10., 10., 50., 50.], [60., 20., 100., 90.]]),
                      labels=torch.tensor([0, 2]))
    xy = torch.rand(14, 2, generator=generator) * 60
    wh = 20 + torch.rand(14, 2, generator=generator) * 30
    proposals = torch.cat([xy, xy + wh], 1)
    gt_inds = torch.tensor([1, 1, 2, 2, 1, 2, 1, 0, 0, 0, 0, 0, 0, -1])
    labels = torch.where(gt_inds > 0, gt.labels[(gt_inds - 1).clamp(min=0)], -1)
    assign = AssignResult(num_gts=2, gt_inds=gt_inds, max_overlaps=torch.zeros(14),
                          labels=labels)
    boxes = torch.cat([gt.bboxes, proposals])  # the order of the sampler's priors
    cls_score = torch.randn(16, NUM_CLASSES + 1, generator=generator)
    bbox_pred = torch.randn(16, 4, generator=generator) * 0.5
    cls_score[2] = 0.
    cls_score[2, 0] = 20.  # proposal 0: label 0 of gt 1, certain
    bbox_pred[2] = 5.
    return assign, InstanceData(priors=proposals), gt, boxes, cls_score, bbox_pred


def _expected_losses(assign, gt, boxes, cls_score, bbox_pred):
    """(classification loss, total loss) of every box of ``boxes`` (ground truth first),
    computed here without the head: cross-entropy, plus smooth L1 (beta 1, summed over the
    coordinates) for positives; None for the ignored box."""
    coder = TASK_UTILS.build(dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                  target_stds=STDS))
    gt_inds = torch.cat([torch.tensor([1, 2]), assign.gt_inds])
    cls_losses, totals = [], []
    for i, gt_index in enumerate(gt_inds.tolist()):
        if gt_index < 0:
            cls_losses.append(None)
            totals.append(None)
            continue
        label = int(gt.labels[gt_index - 1]) if gt_index > 0 else NUM_CLASSES
        cls_loss = F.cross_entropy(cls_score[i:i + 1], torch.tensor([label])).item()
        box_loss = 0.
        if gt_index > 0:
            target = coder.encode(boxes[i:i + 1], gt.bboxes[gt_index - 1:gt_index])
            diff = (bbox_pred[i:i + 1] - target).abs()
            box_loss = torch.where(diff < 1, 0.5 * diff ** 2, diff - 0.5).sum().item()
        cls_losses.append(cls_loss)
        totals.append(cls_loss + box_loss)
    return cls_losses, totals


def _sampler(context, **kwargs):
    return TASK_UTILS.build(dict(type='TotalLossOHEMSampler', **kwargs),
                            default_args=dict(context=context))


def test_keeps_exactly_the_top_b_by_total_loss():
    assign, proposals, gt, boxes, cls_score, bbox_pred = _batch()
    cls_losses, totals = _expected_losses(assign, gt, boxes, cls_score, bbox_pred)
    labelled = [i for i, loss in enumerate(totals) if loss is not None]
    by_total = sorted(labelled, key=lambda i: -totals[i])
    by_cls = sorted(labelled, key=lambda i: -cls_losses[i])
    context = TableContext(boxes, cls_score, bbox_pred)
    result = _sampler(context, num=6).sample(assign, proposals, gt, feats='maps of image 0')

    assert sorted(result.pos_inds.tolist() + result.neg_inds.tolist()) == sorted(by_total[:6])
    assert 2 in by_total[:6] and 2 not in by_cls[:6]  # proposal 0: kept for its box loss
    gt_inds = result.pos_assigned_gt_inds + 1
    assert (gt_inds > 0).all() and (result.pos_gt_labels == gt.labels[gt_inds - 1]).all()
    assert result.pos_is_gt.tolist() == [int(i < 2) for i in result.pos_inds.tolist()]
    assert (assign.gt_inds[result.neg_inds] == 0).all()
    assert context.feats_seen == ['maps of image 0']  # one forward, with the image's feats


def test_keeps_every_labelled_roi_when_b_exceeds_them_and_never_an_ignored_one():
    assign, proposals, gt, boxes, cls_score, bbox_pred = _batch(seed=1)
    result = _sampler(TableContext(boxes, cls_score, bbox_pred), num=100).sample(
        assign, proposals, gt, feats=None)
    assert result.pos_inds.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert result.neg_inds.tolist() == [9, 10, 11, 12, 13, 14]  # 15 is ignored


def test_without_ground_truth_it_keeps_the_hardest_negatives():
    assign, proposals, _, boxes, cls_score, bbox_pred = _batch(seed=2)
    empty = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assign = AssignResult(num_gts=0, gt_inds=torch.zeros(14, dtype=torch.long),
                          max_overlaps=torch.zeros(14), labels=torch.full((14, ), -1))
    result = _sampler(TableContext(boxes[2:], cls_score[2:], bbox_pred[2:]), num=4).sample(
        assign, proposals, empty, feats=None)
    cls_loss = F.cross_entropy(cls_score[2:], torch.full((14, ), NUM_CLASSES), reduction='none')
    assert result.pos_inds.numel() == 0
    assert result.neg_inds.tolist() == sorted(cls_loss.argsort(descending=True)[:4].tolist())


def _without_regression():
    return _bbox_head(with_reg=False)


def _without_box_loss():
    head = _bbox_head()
    head.loss_bbox = None
    return head


@pytest.mark.parametrize('make_head, key', [(_without_regression, 'with_reg'),
                                            (_without_box_loss, 'loss_bbox')])
def test_a_head_without_box_loss_is_refused_at_build_time(make_head, key):
    context = TableContext(None, None, None, bbox_head=make_head())
    with pytest.raises(ValueError, match=rf'roi_head\.bbox_head.*{key}'):
        _sampler(context, num=8)


@pytest.mark.parametrize('kwargs, match', [(dict(num=0), 'num must be an int >= 1'),
                                           (dict(num=8, pos_fraction=0.25), 'pos_fraction')])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _sampler(TableContext(None, None, None), **kwargs)


def _faster_rcnn_head(with_reg=True):
    return dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=512,
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2),
                                featmap_strides=[16]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=512, fc_out_channels=32,
                       roi_feat_size=7, num_classes=2, reg_class_agnostic=True,
                       with_reg=with_reg))


def test_a_config_with_a_head_without_box_regression_fails_to_build():
    cfg = tiny_rfcn_cfg(rcnn_sampler=dict(type='TotalLossOHEMSampler', num=16))
    cfg['roi_head'] = _faster_rcnn_head(with_reg=False)
    with pytest.raises(ValueError, match=r'roi_head\.bbox_head\.with_reg is False'):
        MODELS.build(cfg)


def _step(model, seed=0):
    """One training loss of ``model`` on two synthetic images: (losses, RoIs kept per image,
    forward calls of the first conv of the R-FCN head's maps, or None for other heads)."""
    torch.manual_seed(seed)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 128)] * 2, num_items=[3] * 2,
                            num_classes=2)
    data = model.data_preprocessor(packed, True)
    kept, sample = [], model.roi_head.bbox_sampler.sample

    def recording_sample(*args, **kwargs):
        result = sample(*args, **kwargs)
        kept.append(result.pos_inds.numel() + result.neg_inds.numel())
        return result

    conv = getattr(model.roi_head.bbox_head, 'conv_cls', None)
    calls = []
    hook = conv.register_forward_hook(lambda *_: calls.append(1)) if conv is not None else None
    model.roi_head.bbox_sampler.sample = recording_sample
    losses = model(**data, mode='loss')
    if hook is not None:
        hook.remove()
    return losses, kept, (len(calls) if conv is not None else None)


def test_trains_the_tiny_rfcn_and_computes_the_maps_once_per_step():
    """With the sampler, a step runs the head's map convolutions as often as with a random
    sampler (which never calls the head): the mining only pools the maps of the step."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_rfcn_cfg(rcnn_sampler=dict(type='TotalLossOHEMSampler', num=16)))
    losses, kept, calls = _step(model)
    assert kept == [16, 16]
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and losses['loss_bbox'] > 0
    total.backward()
    assert model.roi_head.bbox_head.conv_cls.weight.grad.abs().sum() > 0

    torch.manual_seed(0)
    random = MODELS.build(tiny_rfcn_cfg())
    _, _, random_calls = _step(random)
    assert calls == random_calls >= 1


def test_trains_a_faster_rcnn_head():
    """The controlled baselines use it with mmdet's StandardRoIHead."""
    cfg = tiny_rfcn_cfg(rcnn_sampler=dict(type='TotalLossOHEMSampler', num=16))
    cfg['roi_head'] = _faster_rcnn_head()
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    losses, kept, _ = _step(model)
    assert kept == [16, 16]
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0
