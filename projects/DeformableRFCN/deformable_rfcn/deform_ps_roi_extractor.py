from typing import List, Optional, Tuple

from mmdet.registry import MODELS
from torch import Tensor, nn

from mmdet_psroi.models.roi_extractors.ps_roi_extractor import PSRoIExtractor
from mmdet_psroi.ops import DeformPSRoIPool


@MODELS.register_module()
class DeformPSRoIExtractor(PSRoIExtractor):
    """``PSRoIExtractor`` with deformable PS RoI pooling: ``forward(feats, rois, offset)``.

    The level assignment, the RoI dtype and the output dtype are ``PSRoIExtractor.pool``'s;
    this class only overrides its per-level hook (:meth:`pool_level`), which also gets the
    offsets of the level's RoIs.

    Args:
        roi_layer (dict): ``type='DeformPSRoIPool'``, ``output_size`` (k), ``part_size``,
            ``sample_per_part``, ``trans_std``; ``spatial_scale`` is set from
            ``featmap_strides``.
        featmap_strides (list[int]): strides of the input levels.
        finest_scale (int): scale threshold of level 0 when mapping RoIs to levels.

    Shapes: a tuple of ``(N, C_out*k*k, H_l, W_l)`` maps, ``(K, 5)`` rois and ``offset``
    ``(K, 2*G, part, part)`` (row ``i`` belongs to RoI ``i``) or ``None`` ->
    ``(K, C_out, k, k)``.
    """

    def build_roi_layers(self, layer_cfg: dict, featmap_strides: List[int]) -> nn.ModuleList:
        if layer_cfg.get('type') != 'DeformPSRoIPool':
            raise ValueError('DeformPSRoIExtractor: roi_layer.type must be '
                             f"'DeformPSRoIPool', got {layer_cfg.get('type')!r}")
        return self.layers_per_level('DeformPSRoIExtractor', DeformPSRoIPool, layer_cfg,
                                     featmap_strides)

    @property
    def part_size(self) -> Tuple[int, int]:
        return self.roi_layers[0].part_size

    def forward(self, feats: Tuple[Tensor], rois: Tensor, offset: Optional[Tensor] = None,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        return self.pool(feats, rois, roi_scale_factor, offset=offset)

    def pool_level(self, level: int, feat: Tensor, rois: Tensor,
                   offset: Optional[Tensor] = None) -> Tensor:
        return self.roi_layers[level](feat, rois, offset)
