from typing import List, Sequence, Tuple

from mmdet.registry import MODELS
from torch import Tensor

from mmdet_psroi.models.roi_heads.ps_maps_roi_head import PSMapsRoIHead


@MODELS.register_module()
class LightHeadRoIHead(PSMapsRoIHead):
    """Light-Head R-CNN's RoI head (Li et al., 2017): thin position-sensitive maps, PS RoI
    pooling, one light per-RoI subnetwork.

    Per image, once: ``thin_map_conv`` (a :class:`LargeSeparableConv`) turns each level the
    extractor reads into ``alpha*kh*kw`` thin maps. Per RoI: the extractor (``PSRoIExtractor``
    or :class:`LightHeadRoIExtractor`) pools them to ``(K, alpha, kh, kw)`` and the box head
    (mmdet's ``ConvFCBBoxHead`` with one shared fc, paper: 2048) flattens them and predicts
    ``cls_score`` and ``bbox_pred``.

    The thin maps (:meth:`compute_maps`) are computed once per training step and once per
    inference batch (``PSMapsRoIHead``), so ``_bbox_forward``, ``bbox_loss``,
    ``predict_bbox`` and mmdet's ``OHEMSampler`` (which receives per-image slices of the same
    maps) only pool. Losses, targets and post-processing are mmdet's.

    Args:
        thin_map_conv (dict): config of the module making the thin maps,
            e.g. ``dict(type='LargeSeparableConv', in_channels=2048, mid_channels=256,
            out_channels=490, kernel_size=15)``.
        bbox_roi_extractor (dict): a ``PSRoIExtractor``/``LightHeadRoIExtractor`` config.
        bbox_head (dict): a ``ConvFCBBoxHead`` config whose ``in_channels`` is ``alpha`` and
            ``roi_feat_size`` the extractor's output size.
        **kwargs: the rest of ``StandardRoIHead`` (train_cfg, test_cfg, init_cfg). Shared
            heads and mask heads are not supported.
    """

    def __init__(self, thin_map_conv: dict, bbox_roi_extractor: dict, bbox_head: dict,
                 **kwargs) -> None:
        super().__init__(bbox_roi_extractor=bbox_roi_extractor, bbox_head=bbox_head, **kwargs)
        self.thin_map_conv = MODELS.build(thin_map_conv)
        kh, kw = self.bbox_roi_extractor.output_size
        alpha = self.bbox_head.in_channels
        if self.thin_map_conv.out_channels != alpha * kh * kw:
            raise ValueError(
                f'LightHeadRoIHead: thin_map_conv.out_channels='
                f'{self.thin_map_conv.out_channels} must be bbox_head.in_channels * kh * kw '
                f'= {alpha} * {kh} * {kw} = {alpha * kh * kw}')

    def compute_maps(self, x: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """The levels the extractor reads ``(N, C, H_l, W_l)`` -> thin maps
        ``(N, alpha*kh*kw, H_l, W_l)``, one per level (the conv's weights are shared)."""
        return tuple(self.thin_map_conv(level)
                     for level in x[:self.bbox_roi_extractor.num_inputs])

    def _bbox_forward(self, maps: List[Tensor], rois: Tensor) -> dict:
        """``maps``: the thin maps (:meth:`compute_maps`, or a slice of them); ``rois``
        ``(K, 5)``.

        Returns ``cls_score`` ``(K, num_classes+1)``, ``bbox_pred`` ``(K, 4[*num_classes])``
        and ``bbox_feats``, the pooled thin maps ``(K, alpha, kh, kw)``.
        """
        bbox_feats = self.bbox_roi_extractor(maps, rois)
        cls_score, bbox_pred = self.bbox_head(bbox_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)
