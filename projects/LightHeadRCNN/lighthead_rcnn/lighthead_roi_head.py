from mmdet.registry import MODELS
from torch import Tensor

from mmdet_psroi.models.roi_heads.ps_maps_roi_head import PSMapsRoIHead


@MODELS.register_module()
class LightHeadRoIHead(PSMapsRoIHead):
    """Light-Head R-CNN's RoI head (Li et al., 2017): thin position-sensitive maps, PS RoI
    pooling, one light per-RoI subnetwork.

    Per image, once: ``thin_map_conv`` (a :class:`LargeSeparableConv`) turns each level the
    extractor reads into ``alpha*kh*kw`` thin maps (:meth:`forward_maps`). Per RoI
    (``PSMapsRoIHead._bbox_forward``): the ``PSRoIExtractor`` pools them to
    ``(K, alpha, kh, kw)`` (``bbox_feats``) and the box head (mmdet's ``ConvFCBBoxHead`` with
    one shared fc, paper: 2048) flattens them and predicts ``cls_score`` and ``bbox_pred``.

    The thin maps are computed once per training step and once per inference batch
    (``PSMapsRoIHead``), so ``_bbox_forward``, ``bbox_loss``, ``predict_bbox`` and mmdet's
    ``OHEMSampler`` (which receives per-image slices of the same maps) only pool. Losses,
    targets and post-processing are mmdet's.

    Args:
        thin_map_conv (dict): config of the module making the thin maps, e.g.
            ``dict(type='LargeSeparableConv', in_channels=2048, mid_channels=256,
            kernel_size=15)``; its ``out_channels`` is set to ``alpha*kh*kw``, from
            ``bbox_head.in_channels`` (alpha) and ``bbox_head.roi_feat_size`` (kh, kw).
        bbox_roi_extractor (dict): a ``PSRoIExtractor`` config (``roi_layer.type``
            'PSRoIAlign', 'PSRoIAlignMax', ...); its output size is ``bbox_head``'s.
        bbox_head (dict): a ``ConvFCBBoxHead`` config whose ``in_channels`` is ``alpha``.
        **kwargs: the rest of ``StandardRoIHead`` (train_cfg, test_cfg, init_cfg). Shared
            heads and mask heads are not supported.
    """

    def __init__(self, thin_map_conv: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        kh, kw = self.bbox_head.roi_feat_size
        alpha = self.bbox_head.in_channels
        explicit = thin_map_conv.get('out_channels')
        if explicit not in (None, alpha * kh * kw):
            raise ValueError(
                f'LightHeadRoIHead: thin_map_conv.out_channels={explicit} must be '
                f'bbox_head.in_channels * kh * kw = {alpha} * {kh} * {kw} = {alpha * kh * kw}, '
                'from which the head sets it; remove thin_map_conv.out_channels')
        self.thin_map_conv = MODELS.build(dict(thin_map_conv, out_channels=alpha * kh * kw))

    def forward_maps(self, x: Tensor) -> Tensor:
        """One level ``(N, C, H, W)`` -> its thin maps ``(N, alpha*kh*kw, H, W)`` (the conv's
        weights are shared by the levels)."""
        return self.thin_map_conv(x)
