"""mmdet's test-time box steps with the image size as a tensor (so that an exported graph takes
any height and width): delta decoding with clipping, mmcv's ``batched_nms`` and mmdet's
``multiclass_nms``. Each repeats the arithmetic of the function it names, operation for
operation, so that the exported graph's boxes equal mmdet's to float rounding; a box coder
whose own ``decode`` traces (``traceable_decode``) decodes with it."""
from typing import Tuple

import numpy as np
import torch
from torch import Tensor

from .graph_ops import max_or_neg_inf, nms_keep


def decodes_in_graph(coder) -> bool:
    """Whether :func:`decode` reproduces ``coder``: mmdet's ``DeltaXYWHBBoxCoder`` (or a
    subclass keeping its ``decode``), or a coder whose class sets ``traceable_decode = True``
    (its ``decode`` traces with ``max_shape`` a ``(2,)`` tensor)."""
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

    return getattr(type(coder), 'traceable_decode', False) or (
        isinstance(coder, DeltaXYWHBBoxCoder)
        and type(coder).decode is DeltaXYWHBBoxCoder.decode)


def decode(coder, rois: Tensor, deltas: Tensor, img_hw: Tensor) -> Tensor:
    """``coder.decode(rois, deltas, max_shape=img_hw)`` as a ``(N, 4)`` tensor: the coder's own
    ``decode`` where it traces, else :func:`delta2bbox` (see :func:`decodes_in_graph`)."""
    if getattr(type(coder), 'traceable_decode', False):
        from mmdet.structures.bbox import get_box_tensor

        return get_box_tensor(coder.decode(rois, deltas, max_shape=img_hw))
    return delta2bbox(rois, deltas, coder, img_hw)


def delta2bbox(rois: Tensor, deltas: Tensor, coder, img_hw: Tensor,
               wh_ratio_clip: float = 16 / 1000) -> Tensor:
    """``DeltaXYWHBBoxCoder.decode(rois, deltas, max_shape=img_hw)`` (mmdet's ``delta2bbox``).

    Args:
        rois: ``(N, 4)`` boxes x1y1x2y2.
        deltas: ``(N, 4)`` deltas, one row per box.
        coder: the ``DeltaXYWHBBoxCoder`` (``means``, ``stds``, ``clip_border``,
            ``add_ctr_clamp``, ``ctr_clamp``).
        img_hw: ``(2,)`` float tensor, the image's height and width (the clip bounds).

    Returns: ``(N, 4)`` boxes.
    """
    means = deltas.new_tensor(coder.means).view(1, -1)
    stds = deltas.new_tensor(coder.stds).view(1, -1)
    denorm_deltas = deltas * stds + means
    dxy = denorm_deltas[:, :2]
    dwh = denorm_deltas[:, 2:]
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = float(np.abs(np.log(wh_ratio_clip)))
    if coder.add_ctr_clamp:
        dxy_wh = torch.clamp(dxy_wh, max=coder.ctr_clamp, min=-coder.ctr_clamp)
        dwh = torch.clamp(dwh, max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    bboxes = torch.cat([gxy - (gwh * 0.5), gxy + (gwh * 0.5)], dim=-1)
    if coder.clip_border:
        # x1, y1, x2, y2 clamped to [0, W], [0, H], [0, W], [0, H]
        upper = img_hw[[1, 0, 1, 0]].view(1, 4)
        bboxes = torch.min(bboxes.clamp(min=0), upper)
    return bboxes


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, nms_cfg: dict,
                max_num: int = -1) -> Tensor:
    """mmcv's ``batched_nms(boxes, scores, idxs, nms_cfg)`` for ``type='nms'``: NMS within
    each ``idxs`` group (unless ``nms_cfg['class_agnostic']``), done as mmcv does, on one set
    of boxes offset by ``idx * (max coordinate + 1)``. mmcv's ``offset=1`` (widths and heights
    ``x2 - x1 + 1``) is the standard IoU of the boxes with ``x2 + 1`` and ``y2 + 1``.

    Returns the indices of the kept boxes by descending score, at most ``max_num`` if > 0.
    """
    if nms_cfg.get('class_agnostic', False):
        boxes_for_nms = boxes
    else:
        max_coordinate = max_or_neg_inf(boxes)
        offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
        boxes_for_nms = boxes + offsets[:, None]
    pixel = float(nms_cfg.get('offset', 0))
    if pixel:
        boxes_for_nms = torch.cat([boxes_for_nms[:, :2], boxes_for_nms[:, 2:] + pixel], dim=1)
    return nms_keep(boxes_for_nms, scores, nms_cfg['iou_threshold'], max_num)


def multiclass_nms(multi_bboxes: Tensor, multi_scores: Tensor, score_thr: float,
                   nms_cfg: dict, max_num: int = -1) -> Tuple[Tensor, Tensor]:
    """mmdet's ``multiclass_nms``: ``(K, 4)`` or ``(K, 4*C)`` boxes and ``(K, C+1)`` scores
    (background last) -> ``dets`` ``(N, 5)`` (x1, y1, x2, y2, score) by descending score and
    ``labels`` ``(N,)``: the class boxes scoring above ``score_thr``, NMS per class, the
    first ``max_num`` if > 0."""
    num_classes = multi_scores.size(1) - 1
    scores = multi_scores[:, :-1]
    if multi_bboxes.shape[1] > 4:
        bboxes = multi_bboxes.reshape(-1, 4)
    else:
        bboxes = multi_bboxes[:, None].expand(-1, num_classes, 4).reshape(-1, 4)
    labels = torch.arange(num_classes, dtype=torch.long, device=scores.device)
    labels = (labels.view(1, -1) + torch.zeros_like(scores, dtype=torch.long)).reshape(-1)
    scores = scores.reshape(-1)
    inds = (scores > score_thr).nonzero(as_tuple=False).squeeze(1)
    bboxes, scores, labels = bboxes[inds], scores[inds], labels[inds]
    keep = batched_nms(bboxes, scores, labels, nms_cfg, max_num)
    return torch.cat([bboxes[keep], scores[keep].unsqueeze(1)], -1), labels[keep]
