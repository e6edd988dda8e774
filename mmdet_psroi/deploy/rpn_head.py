"""mmdet's ``RPNHead.predict`` (one image, ``rescale=False``) for an exported graph."""
from typing import List, Sequence

import torch
from torch import Tensor

from .boxes import batched_nms, decode
from .graph_ops import top_k
from .instances import graph_instances


def grid_anchors(prior_generator, level: int, featmap: Tensor) -> Tensor:
    """``AnchorGenerator.single_level_grid_priors`` for the (dynamic) size of ``featmap``
    ``(1, C, H, W)``: ``(H*W*A, 4)`` anchors, the A anchors of (0, 0) first, then (0, 1)...:
    the generator's own ``base_anchors`` (any ``AnchorGenerator`` subclass that keeps the
    grid shift, e.g. ``LegacyAnchorGenerator``) shifted by the stride."""
    base_anchors = prior_generator.base_anchors[level].to(featmap)
    stride_w, stride_h = prior_generator.strides[level]
    shift_x = torch.arange(0, featmap.shape[3], device=featmap.device).to(featmap) * stride_w
    shift_y = torch.arange(0, featmap.shape[2], device=featmap.device).to(featmap) * stride_h
    # (H, W) grids; adding zeros broadcasts without changing a value
    shift_xx = shift_x[None, :] + torch.zeros_like(shift_y)[:, None]
    shift_yy = shift_y[:, None] + torch.zeros_like(shift_x)[None, :]
    shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
    return (base_anchors[None, None, :, :] + shifts[:, :, None, :]).reshape(-1, 4)


def rpn_proposals(rpn_head, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                  img_hw: Tensor, cfg) -> Tensor:
    """The RPN's proposals for one image, as ``rpn_head.predict_by_feat(cls_scores,
    bbox_preds, ..., rescale=False)``: per level the ``nms_pre`` best anchors, decoded and
    clipped to ``img_hw``; boxes not wider and higher than ``min_bbox_size`` dropped (when it
    is >= 0); NMS per level (``batched_nms`` with the level as class); the best
    ``max_per_img``.

    Args:
        rpn_head: mmdet's ``RPNHead``.
        cls_scores, bbox_preds: its outputs, ``(1, A*C, H_l, W_l)`` and ``(1, A*4, H_l, W_l)``
            per level.
        img_hw: ``(2,)`` float tensor, the (unpadded) image's height and width.
        cfg: the RPN's test config (``nms_pre``, ``min_bbox_size``, ``nms``, ``max_per_img``).

    Returns: ``(K, 4)`` proposals x1y1x2y2, by descending score.
    """
    nms_pre = cfg.get('nms_pre', -1)
    mlvl_deltas: List[Tensor] = []
    mlvl_anchors: List[Tensor] = []
    mlvl_scores: List[Tensor] = []
    level_ids: List[Tensor] = []
    for level, (cls_score, bbox_pred) in enumerate(zip(cls_scores, bbox_preds)):
        anchors = grid_anchors(rpn_head.prior_generator, level, cls_score)
        deltas = bbox_pred[0].permute(1, 2, 0).reshape(-1, rpn_head.bbox_coder.encode_size)
        cls_score = cls_score[0].permute(1, 2, 0).reshape(-1, rpn_head.cls_out_channels)
        if rpn_head.use_sigmoid_cls:
            scores = cls_score.sigmoid()
        else:
            scores = cls_score.softmax(-1)[:, :-1]
        scores = scores.reshape(-1)
        if nms_pre > 0:
            # mmdet sorts only where there are more than nms_pre; sorting either way
            # changes no result (NMS visits boxes by score, equal scores by position)
            scores, inds = top_k(scores, nms_pre)
            deltas, anchors = deltas[inds], anchors[inds]
        mlvl_deltas.append(deltas)
        mlvl_anchors.append(anchors)
        mlvl_scores.append(scores)
        level_ids.append(torch.full_like(scores, level, dtype=torch.long))
    bboxes = decode(rpn_head.bbox_coder, torch.cat(mlvl_anchors), torch.cat(mlvl_deltas),
                    img_hw)
    scores, level_ids = torch.cat(mlvl_scores), torch.cat(level_ids)
    if cfg.get('min_bbox_size', -1) >= 0:
        w, h = bboxes[:, 2] - bboxes[:, 0], bboxes[:, 3] - bboxes[:, 1]
        valid = ((w > cfg.min_bbox_size) & (h > cfg.min_bbox_size)).nonzero().squeeze(1)
        bboxes, scores, level_ids = bboxes[valid], scores[valid], level_ids[valid]
    keep = batched_nms(bboxes, scores, level_ids, cfg.nms, cfg.max_per_img)
    return bboxes[keep]


def predict_by_feat(rpn_head, cls_scores, bbox_preds, score_factors=None, batch_img_metas=None,
                    cfg=None, rescale=False, with_nms=True):
    """``RPNHead.predict_by_feat`` of one image in a graph (:func:`rpn_proposals`, the image
    size from ``batch_img_metas[0]['img_shape']``, a ``(2,)`` tensor; ``cfg`` defaults to the
    head's ``test_cfg``): mmdet's list of one ``InstanceData`` with ``bboxes``."""
    if rescale or not with_nms or len(batch_img_metas) != 1:
        raise ValueError('the exported graph predicts one image, rescale=False, with NMS; got '
                         f'{len(batch_img_metas)} images, rescale={rescale}, '
                         f'with_nms={with_nms}')
    proposals = rpn_proposals(rpn_head, cls_scores, bbox_preds,
                              batch_img_metas[0]['img_shape'], cfg or rpn_head.test_cfg)
    return [graph_instances(bboxes=proposals)]
