from typing import Sequence, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class RFCNRoIHead(StandardRoIHead):
    """R-FCN's RoI head: ``PSBBoxHead`` score maps, pooled by a ``PSRoIExtractor``.

    Keeps mmdet's ``_bbox_forward(x, rois) -> dict(cls_score, bbox_pred, bbox_feats)``
    contract, so ``StandardRoIHead``'s loss and predict paths and mmdet's ``OHEMSampler``
    (``train_cfg.rcnn.sampler=dict(type='OHEMSampler', ...)``) work unchanged. The maps are
    computed once per image; per RoI there is only pooling and a mean.

    Args:
        bbox_roi_extractor (dict): a ``PSRoIExtractor`` config.
        bbox_head (dict): a ``PSBBoxHead`` config; ``roi_feat_size`` must equal the
            extractor's ``roi_layer.output_size``.
        **kwargs: the rest of ``StandardRoIHead`` (train_cfg, test_cfg, init_cfg). Shared
            heads and mask heads are not supported.
    """

    def __init__(self, bbox_roi_extractor: dict, bbox_head: dict, **kwargs) -> None:
        for name in ('shared_head', 'mask_roi_extractor', 'mask_head'):
            if kwargs.get(name) is not None:
                raise ValueError(f'RFCNRoIHead: {name} is not supported (R-FCN has no per-RoI '
                                 'subnetwork); remove roi_head.' + name)
        super().__init__(bbox_roi_extractor=bbox_roi_extractor, bbox_head=bbox_head, **kwargs)
        extractor_size = tuple(self.bbox_roi_extractor.output_size)
        if extractor_size != tuple(self.bbox_head.roi_feat_size):
            raise ValueError(
                f'RFCNRoIHead: bbox_head.roi_feat_size={self.bbox_head.roi_feat_size} (k of the '
                f'score maps) does not match bbox_roi_extractor.roi_layer.output_size='
                f'{extractor_size}; set both to the same k')

    def _bbox_forward(self, x: Sequence[Tensor], rois: Tensor) -> dict:
        """``x``: the levels the extractor reads (``(N, C, H, W)`` each); ``rois`` ``(K, 5)``.

        Returns ``cls_score`` ``(K, num_classes+1)``, ``bbox_pred`` ``(K, 4[*num_classes])``
        and ``bbox_feats``, the pooled class scores ``(K, num_classes+1, k, k)``.
        """
        cls_maps, reg_maps = self._score_maps(x[:self.bbox_roi_extractor.num_inputs])
        cls_feats = self.bbox_roi_extractor(cls_maps, rois)
        reg_feats = self.bbox_roi_extractor(reg_maps, rois)
        cls_score, bbox_pred = self.bbox_head(cls_feats, reg_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=cls_feats)

    def _score_maps(self, levels: Sequence[Tensor]) -> Tuple[Tuple[Tensor], Tuple[Tensor]]:
        maps = [self.bbox_head.forward_maps(level) for level in levels]
        return tuple(m[0] for m in maps), tuple(m[1] for m in maps)
