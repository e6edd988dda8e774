"""mmdeploy's function rewriters for this package's models: what mmdeploy's own rewrites of
mmdet's two-stage detectors (``TwoStageDetector.forward``, ``RPNHead.predict_by_feat``,
``StandardRoIHead.predict_bbox``, ``BBoxHead.predict_by_feat``, its multi-class NMS) leave
untraceable or different from mmdet for R-FCN, Light-Head R-CNN and their extractors. The
models' own code runs in the graph: ``compute_maps``, ``_bbox_forward``, the box heads.

- ``PSRoIExtractor.pool``: pools each RoI from the level its scale maps to with
  :func:`~mmdet_psroi.deploy.roi_pooling.ps_extractor_pool` (the model's pooling skips empty
  levels, a branch on a data-dependent count, which a traced graph would freeze).
- ``RFCN.forward``: mmdeploy's ``TwoStageDetector.forward`` hands every feature map to both
  the RPN and the RoI head; R-FCN routes them (``route_features``: in the C4 setting the RPN
  reads conv4, the RoI head the dilated conv5).
- mmdet's ``RPNHead.predict_by_feat`` (for onnxruntime, where it takes precedence over
  mmdeploy's default rewrite): mmdeploy's runs one NMS over the proposals of all levels
  together, applies its ``score_threshold`` to them and drops ``min_bbox_size``, which changes
  an FPN's proposals; this one computes them as mmdet does (NMS per level,
  :func:`~mmdet_psroi.deploy.rpn_head.rpn_proposals`, the function our exporter uses), for a
  batch of one image.

mmdeploy imports this module from a deploy config's
``codebase_config=dict(module=['mmdet_psroi.deploy.mmdeploy_rewriters'])``
(``configs/deploy/rfcn_onnxruntime_dynamic.py``); the package never imports it (mmdeploy is
not one of its dependencies).
"""
import torch
import torch.nn.functional as F
from mmdeploy.core import FUNCTION_REWRITER
from mmdeploy.utils import is_dynamic_shape

from mmdet_psroi.deploy.roi_pooling import ps_extractor_pool
from mmdet_psroi.deploy.rpn_head import rpn_proposals


@FUNCTION_REWRITER.register_rewriter(
    'mmdet_psroi.models.roi_extractors.ps_roi_extractor.PSRoIExtractor.pool')
def ps_roi_extractor__pool(self, feats, rois, roi_scale_factor=None, **per_roi):
    """``PSRoIExtractor.pool`` (and its subclasses') in a graph: each RoI pooled once, from
    its own level, with no branch on how many RoIs a level has."""
    return ps_extractor_pool(self, feats, rois, roi_scale_factor, **per_roi)


@FUNCTION_REWRITER.register_rewriter('mmdet_psroi.models.detectors.rfcn.RFCN.forward')
def rfcn__forward(self, batch_inputs, data_samples=None, mode='tensor', **kwargs):
    """mmdeploy's rewrite of ``TwoStageDetector.forward`` (``dets`` ``(N, K, 5)`` and
    ``labels`` ``(N, K)`` out, the image shape taken from the input tensor where the shape is
    dynamic), with the RPN and the RoI head reading the features ``RFCN.route_features``
    gives each; the proposals are ``RFCN``'s own (the samples' or the RPN's)."""
    ctx = FUNCTION_REWRITER.get_context()
    img_shape = torch._shape_as_tensor(batch_inputs)[2:]
    if not is_dynamic_shape(ctx.cfg):
        img_shape = [int(size) for size in img_shape]
    for data_sample in data_samples:
        # set_field, not set_metainfo: set_metainfo deep-copies, which breaks the trace
        data_sample.set_field(name='img_shape', value=img_shape, field_type='metainfo')
    x_rpn, x_roi = self.route_features(self.extract_feat(batch_inputs))
    rpn_results_list = self._proposals(x_rpn, data_samples)
    return self.roi_head.predict(x_roi, rpn_results_list, data_samples, rescale=False)


@FUNCTION_REWRITER.register_rewriter('mmdet.models.dense_heads.rpn_head.RPNHead.predict_by_feat',
                                     backend='onnxruntime')
def rpn_head__predict_by_feat(self, cls_scores, bbox_preds, score_factors=None,
                              batch_img_metas=None, cfg=None, rescale=False, with_nms=True,
                              **kwargs):
    """mmdet's proposals of one image in mmdeploy's form: ``dets`` ``(1, K, 5)`` (x1, y1, x2,
    y2 and a score column that ``StandardRoIHead.predict_bbox``'s rewrite drops) and
    ``labels`` ``(1, K)``."""
    if len(batch_img_metas) != 1 or rescale or not with_nms:
        raise ValueError('the RPN rewrite predicts one image, rescale=False, with NMS; got '
                         f'{len(batch_img_metas)} images, rescale={rescale}, '
                         f'with_nms={with_nms}')
    img_shape = batch_img_metas[0]['img_shape']
    img_hw = (img_shape.to(torch.float32) if torch.is_tensor(img_shape)
              else cls_scores[0].new_tensor(img_shape[:2]))
    proposals = rpn_proposals(self, cls_scores, bbox_preds, img_hw, cfg or self.test_cfg)
    dets = F.pad(proposals, (0, 1))[None]
    return dets, dets.new_zeros(dets.shape[:2], dtype=torch.long)
