"""mmdet's RoI-head post-processing (``BBoxHead.predict_by_feat``, one image,
``rescale=False``) for an exported graph."""
from typing import List, Tuple

import torch.nn.functional as F
from torch import Tensor

from .boxes import decode, multiclass_nms
from .instances import graph_instances


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
    bboxes = decode(bbox_head.bbox_coder, boxes, bbox_pred.reshape(-1, 4), img_hw)
    return multiclass_nms(bboxes.view(num_rois, 4 * num_classes), scores, cfg.score_thr,
                          cfg.nms, cfg.max_per_img)


def predict_bbox(roi_head, x, batch_img_metas: List[dict], rpn_results_list, rcnn_test_cfg,
                 rescale: bool = False):
    """``StandardRoIHead.predict_bbox`` of one image in a graph: the head's own
    ``_bbox_forward(x, rois)`` on the proposals, then :func:`bbox_head_detections` with the
    image size ``batch_img_metas[0]['img_shape']`` (a ``(2,)`` tensor, see
    :func:`~mmdet_psroi.deploy.export_context.graph_data_sample`). Returns mmdet's list of one
    ``InstanceData`` (``bboxes``, ``scores``, ``labels``)."""
    if rescale or len(rpn_results_list) != 1:
        raise ValueError('the exported graph predicts one image, rescale=False; got '
                         f'{len(rpn_results_list)} images, rescale={rescale}')
    rois = F.pad(rpn_results_list[0].bboxes, (1, 0))  # batch index 0
    results = roi_head._bbox_forward(x, rois)
    dets, labels = bbox_head_detections(roi_head.bbox_head, rois, results['cls_score'],
                                        results['bbox_pred'], batch_img_metas[0]['img_shape'],
                                        rcnn_test_cfg)
    return [graph_instances(bboxes=dets[:, :4], scores=dets[:, 4], labels=labels)]
