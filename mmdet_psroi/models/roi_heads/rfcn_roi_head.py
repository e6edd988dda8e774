from typing import Sequence

from mmdet.registry import MODELS
from torch import Tensor

from .ps_maps_roi_head import PSMapsRoIHead


@MODELS.register_module()
class RFCNRoIHead(PSMapsRoIHead):
    """R-FCN's RoI head: ``PSBBoxHead`` score maps, pooled by a ``PSRoIExtractor``.

    The maps (per level the class score maps and the box maps concatenated along channels,
    ``bbox_head.forward_maps``) are computed once per training step and once per inference
    batch (``PSMapsRoIHead``); per RoI there is only one pooling call per level and a mean.
    mmdet's ``OHEMSampler`` (``train_cfg.rcnn.sampler=dict(type='OHEMSampler', ...)``)
    mines on each image's slice of the same maps: OHEM's hard mining only pools and votes
    (paper, section 3), it runs no convolution.

    Args:
        bbox_roi_extractor (dict): a ``PSRoIExtractor`` config; its ``roi_layer.output_size``
            is set from ``bbox_head.roi_feat_size``.
        bbox_head (dict): a ``PSBBoxHead`` config; ``roi_feat_size`` is k, the PS grid.
        **kwargs: the rest of ``StandardRoIHead`` (train_cfg, test_cfg, init_cfg). Shared
            heads and mask heads are not supported.
    """

    def _bbox_forward(self, maps: Sequence[Tensor], rois: Tensor) -> dict:
        """``PSMapsRoIHead._bbox_forward``, with ``bbox_feats`` the pooled class scores
        ``(K, num_classes+1, k, k)`` (without the box channels)."""
        results = super()._bbox_forward(maps, rois)
        results['bbox_feats'] = self.bbox_head.split_pooled(results['bbox_feats'])[0]
        return results
