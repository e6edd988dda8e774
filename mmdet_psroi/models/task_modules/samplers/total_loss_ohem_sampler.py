from typing import Any, Tuple

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import BaseBoxes, bbox2roi, cat_boxes
from mmengine.structures import InstanceData
from torch import Tensor


@TASK_UTILS.register_module()
class TotalLossOHEMSampler:
    """Online hard example mining as in R-FCN (Dai et al., 2016, section 3): all RoIs of an
    image are ranked together by their total loss and the ``num`` highest are kept.

    Every RoI the assigner made positive or negative (ignored ones are left out) is scored,
    without gradient, by classification loss + box regression loss (0 for negatives), both
    computed by the RoI head's own ``bbox_head.get_targets`` and ``bbox_head.loss`` with
    reduction ``'none'`` (box loss summed over its coordinates). There is no positive
    fraction: the kept RoIs are the top ``num`` of positives and negatives together.
    mmdet's ``OHEMSampler`` differs: it ranks by classification loss alone and mines
    positives (up to ``pos_fraction``) and negatives separately.

    The RoIs are scored by ``context._bbox_forward(feats, rois)`` with the ``feats`` the RoI
    head passes to :meth:`sample` for the image (R-FCN's heads pass their per-image maps,
    computed once per step, so scoring only pools them).

    Config: ``train_cfg.rcnn.sampler=dict(type='TotalLossOHEMSampler', num=128)``.

    Args:
        num (int): RoIs kept per image (R-FCN: 128 of 300).
        context (BaseRoIHead): the RoI head; mmdet's RoI heads pass themselves when they build
            their sampler. Its ``bbox_head`` must compute a box loss (``with_reg=True`` and a
            ``loss_bbox``) and it must not be a cascade.
        add_gt_as_proposals (bool): rank the ground-truth boxes too, as R-FCN does.
            Defaults to True.
        **kwargs: refused: keys of other samplers (``pos_fraction``, ``neg_pos_ub``) have no
            meaning here.
    """

    def __init__(self, num: int, context: Any, add_gt_as_proposals: bool = True,
                 **kwargs) -> None:
        if kwargs:
            raise ValueError(
                f'TotalLossOHEMSampler: unexpected {", ".join(sorted(kwargs))} (it ranks '
                'positives and negatives together by total loss; remove them, or use '
                "type='OHEMSampler' for mmdet's separate mining)")
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ValueError(f'TotalLossOHEMSampler: num must be an int >= 1, got {num!r}')
        _check_context(context)
        self.num = num
        self.context = context
        self.add_gt_as_proposals = add_gt_as_proposals

    def sample(self, assign_result: AssignResult, pred_instances: InstanceData,
               gt_instances: InstanceData, feats: Any = None, **kwargs) -> SamplingResult:
        """Keeps the ``num`` RoIs of ``pred_instances.priors`` (with the ground-truth boxes
        first when ``add_gt_as_proposals``) of highest total loss.

        Args:
            assign_result (AssignResult): the assigner's result for ``pred_instances``.
            pred_instances (InstanceData): ``priors`` ``(n, 4)``, the image's proposals.
            gt_instances (InstanceData): ``bboxes`` ``(g, 4)`` and ``labels`` ``(g,)``.
            feats: the image's features or maps, handed to ``context._bbox_forward``.

        Returns:
            SamplingResult: ``pos_inds`` and ``neg_inds`` (ascending) index the priors with
            the ground-truth boxes prepended, as in mmdet's samplers.
        """
        priors, gt_flags = self._candidate_priors(assign_result, pred_instances, gt_instances)
        candidates = SamplingResult(
            pos_inds=torch.nonzero(assign_result.gt_inds > 0).flatten(),
            neg_inds=torch.nonzero(assign_result.gt_inds == 0).flatten(),
            priors=priors, gt_bboxes=gt_instances.bboxes, assign_result=assign_result,
            gt_flags=gt_flags)
        loss = self.total_loss(candidates, feats)
        keep = loss.topk(min(self.num, loss.numel())).indices.sort().values
        num_pos = candidates.pos_inds.numel()
        return SamplingResult(
            pos_inds=candidates.pos_inds[keep[keep < num_pos]],
            neg_inds=candidates.neg_inds[keep[keep >= num_pos] - num_pos],
            priors=priors, gt_bboxes=gt_instances.bboxes, assign_result=assign_result,
            gt_flags=gt_flags)

    def total_loss(self, candidates: SamplingResult, feats: Any) -> Tensor:
        """Classification + box loss of each RoI of ``candidates`` (positives first, then
        negatives, as ``candidates.priors``), shape ``(num_pos + num_neg,)``, no gradient."""
        bbox_head = self.context.bbox_head
        with torch.no_grad():
            rois = bbox2roi([candidates.priors])
            outputs = self.context._bbox_forward(feats, rois)
            labels, label_weights, bbox_targets, bbox_weights = bbox_head.get_targets(
                [candidates], self.context.train_cfg, concat=True)
            losses = bbox_head.loss(outputs['cls_score'], outputs['bbox_pred'], rois, labels,
                                    label_weights, bbox_targets, bbox_weights,
                                    reduction_override='none')
            total = losses['loss_cls'].float().clone()
            positive = (labels >= 0) & (labels < bbox_head.num_classes)
            if positive.any():
                total[positive] += losses['loss_bbox'].float().flatten(1).sum(1)
        return total

    def _candidate_priors(self, assign_result: AssignResult, pred_instances: InstanceData,
                          gt_instances: InstanceData) -> Tuple[Any, Tensor]:
        """The priors to rank and their ground-truth flags; with ``add_gt_as_proposals`` the
        ground-truth boxes are prepended and ``assign_result`` is extended with them (as
        mmdet's ``BaseSampler.sample`` does)."""
        priors, gt_bboxes = pred_instances.priors, gt_instances.bboxes
        gt_flags = torch.zeros(len(priors), dtype=torch.uint8, device=priors.device)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if isinstance(gt_bboxes, BaseBoxes) and isinstance(priors, BaseBoxes):
                gt_bboxes = gt_bboxes.convert_to(type(priors))
            priors = cat_boxes([gt_bboxes, priors], dim=0)
            assign_result.add_gt_(gt_instances.labels)
            gt_flags = torch.cat([gt_flags.new_ones(len(gt_bboxes)), gt_flags])
        return priors, gt_flags


def _check_context(context: Any) -> None:
    """Raises ValueError naming the key when ``context`` cannot give a per-RoI total loss."""
    if hasattr(context, 'num_stages'):
        raise ValueError('TotalLossOHEMSampler: cascade RoI heads (roi_head.num_stages) are '
                         "not supported; use type='OHEMSampler'")
    bbox_head = getattr(context, 'bbox_head', None)
    if bbox_head is None:
        raise ValueError('TotalLossOHEMSampler: the RoI head has no bbox_head to compute the '
                         'loss of its RoIs with (roi_head.bbox_head)')
    if not getattr(bbox_head, 'with_reg', True):
        raise ValueError(
            'TotalLossOHEMSampler ranks RoIs by classification + box loss, but '
            'roi_head.bbox_head.with_reg is False (no box regression); use '
            "type='OHEMSampler', which ranks by classification loss")
    if getattr(bbox_head, 'loss_bbox', None) is None:
        raise ValueError(
            'TotalLossOHEMSampler ranks RoIs by classification + box loss, but '
            'roi_head.bbox_head has no loss_bbox; set roi_head.bbox_head.loss_bbox or use '
            "type='OHEMSampler'")
