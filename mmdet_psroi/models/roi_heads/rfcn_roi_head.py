from typing import Sequence, Tuple

from mmdet.registry import MODELS
from torch import Tensor

from .ps_maps_roi_head import PSMapsRoIHead


@MODELS.register_module()
class RFCNRoIHead(PSMapsRoIHead):
    """R-FCN's RoI head: ``PSBBoxHead`` score maps, pooled by a ``PSRoIExtractor``.

    The maps (:meth:`compute_maps`, per level the class score maps and the box maps
    concatenated along channels) are computed once per training step and once per inference
    batch (``PSMapsRoIHead``); per RoI there is only one pooling call per level and a mean.
    mmdet's ``OHEMSampler`` (``train_cfg.rcnn.sampler=dict(type='OHEMSampler', ...)``)
    mines on each image's slice of the same maps: OHEM's hard mining only pools and votes
    (paper, section 3), it runs no convolution.

    Args:
        bbox_roi_extractor (dict): a ``PSRoIExtractor`` config.
        bbox_head (dict): a ``PSBBoxHead`` config; ``roi_feat_size`` (k of the score maps)
            must equal the extractor's ``roi_layer.output_size``.
        **kwargs: the rest of ``StandardRoIHead`` (train_cfg, test_cfg, init_cfg). Shared
            heads and mask heads are not supported.
    """

    def compute_maps(self, x: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Per level the extractor reads, ``bbox_head.forward_maps``: the class score maps and
        the box maps, one ``(N, k*k*(C_cls + C_reg), H_l, W_l)`` tensor."""
        return tuple(self.bbox_head.forward_maps(level)
                     for level in x[:self.bbox_roi_extractor.num_inputs])

    def _bbox_forward(self, maps: Sequence[Tensor], rois: Tensor) -> dict:
        """``maps``: :meth:`compute_maps`'s (or a slice of them); ``rois`` ``(K, 5)``.

        Returns ``cls_score`` ``(K, num_classes+1)``, ``bbox_pred`` ``(K, 4[*num_classes])``
        and ``bbox_feats``, the pooled class scores ``(K, num_classes+1, k, k)``.
        """
        pooled = self.bbox_roi_extractor(maps, rois)
        cls_score, bbox_pred = self.bbox_head(pooled)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred,
                    bbox_feats=self.bbox_head.split_pooled(pooled)[0])
