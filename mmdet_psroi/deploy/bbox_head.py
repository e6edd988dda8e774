"""mmdet's ``BBoxHead.predict_by_feat`` (one image, ``rescale=False``) for an exported graph."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor

from .boxes import delta2bbox, multiclass_nms


def bbox_head_detections(bbox_head, rois: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                         img_hw: Tensor, cfg) -> Tuple[Tensor, Tensor]:
    """Softmax scores, the deltas decoded from ``rois`` ``(K, 5)`` and clipped to ``img_hw``
    ``(2,)``, then ``multiclass_nms`` with ``cfg``'s ``score_thr``, ``nms`` and
    ``max_per_img``.

    Returns ``dets`` ``(N, 5)`` (x1, y1, x2, y2, score), by descending score, and ``labels``
    ``(N,)``.
    """
    scores = F.softmax(cls_score, dim=-1)
    num_rois = rois.size(0)
    num_classes = 1 if bbox_head.reg_class_agnostic else bbox_head.num_classes
    boxes = rois[:, None, 1:].expand(-1, num_classes, 4).reshape(-1, 4)
    bboxes = delta2bbox(boxes, bbox_pred.reshape(-1, 4), bbox_head.bbox_coder, img_hw)
    return multiclass_nms(bboxes.view(num_rois, -1), scores, cfg.score_thr, cfg.nms,
                          cfg.max_per_img)
