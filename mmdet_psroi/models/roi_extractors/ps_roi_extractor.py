import functools
import inspect
from typing import List, Optional, Tuple

import torch
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from mmengine.registry import Registry
from torch import Tensor, nn

from mmdet_psroi.ops import DeformPSRoIPool, PSRoIAlign, PSRoIPool

PS_ROI_LAYERS = Registry('position-sensitive RoI layer')
"""The layers ``PSRoIExtractor`` builds by name (``roi_layer.type``). A project adds its own
with ``@PS_ROI_LAYERS.register_module()``."""
for _layer in (PSRoIPool, PSRoIAlign, DeformPSRoIPool):
    PS_ROI_LAYERS.register_module(module=_layer)


def ps_roi_layer_class(layer_type) -> type:
    """The class ``roi_layer.type`` names: a name registered in :data:`PS_ROI_LAYERS`, or a
    class that is (or derives from) one registered there. ValueError otherwise."""
    registered = PS_ROI_LAYERS.module_dict
    if isinstance(layer_type, str) and layer_type in registered:
        return registered[layer_type]
    if isinstance(layer_type, type) and issubclass(layer_type, tuple(registered.values())):
        return layer_type
    raise ValueError(f'PSRoIExtractor: roi_layer.type must be one of '
                     f'{sorted(registered)} (the position-sensitive layers '
                     f'registered in PS_ROI_LAYERS) or a subclass of one, got {layer_type!r}')


def roi_dtype(map_dtype: torch.dtype) -> torch.dtype:
    """The dtype RoIs are pooled in from maps of ``map_dtype``: the maps' own for float64 and
    float32 maps, float32 for reduced-precision (float16, bfloat16) maps."""
    return map_dtype if map_dtype in (torch.float32, torch.float64) else torch.float32


@MODELS.register_module()
class PSRoIExtractor(SingleRoIExtractor):
    """Pools position-sensitive maps per RoI, from one level (C4/C5) or several (FPN).

    With several levels, each RoI is pooled from the level its scale maps to, as in
    mmdet's ``SingleRoIExtractor`` (``finest_scale``). The output has ``C // (kh*kw)``
    channels for ``C``-channel maps, so one extractor serves the classification maps
    ``(N, k*k*(num_classes+1), H, W)`` and the box maps ``(N, k*k*4, H, W)`` alike.

    Args:
        roi_layer (dict): ``type``, a layer registered in :data:`PS_ROI_LAYERS` ('PSRoIPool',
            'PSRoIAlign', 'DeformPSRoIPool', and those projects register, e.g. Light-Head's
            'PSRoIAlignMax') or such a class, and its arguments. A PS RoI head sets
            ``output_size`` from its ``bbox_head.roi_feat_size``; ``spatial_scale`` is set
            from ``featmap_strides``.
        featmap_strides (list[int]): strides of the input levels, e.g. ``[16]``.
        finest_scale (int): scale threshold of level 0 when mapping RoIs to levels.
        init_cfg (dict, optional): initialisation config (the layers have no weights).

    Shapes: ``forward(feats, rois, **per_roi)``: a tuple of ``(N, C_out*kh*kw, H_l, W_l)``
    maps, ``(K, 5)`` rois and keyword tensors of the layer's ``forward`` with one row per
    RoI (e.g. ``offset`` ``(K, 2*G, ph, pw)`` for 'DeformPSRoIPool') ->
    ``(K, C_out, kh, kw)``.
    """

    def __init__(self,
                 roi_layer: dict,
                 featmap_strides: List[int],
                 finest_scale: int = 56,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(roi_layer=roi_layer, out_channels=None,
                         featmap_strides=featmap_strides, finest_scale=finest_scale,
                         init_cfg=init_cfg)

    def build_roi_layers(self, layer_cfg: dict, featmap_strides: List[int]) -> nn.ModuleList:
        """One layer of ``roi_layer.type`` per level, with ``spatial_scale = 1 / stride``.
        Refuses a ``spatial_scale`` and any other key that is not an argument of the layer;
        every error is a ``ValueError`` naming the ``roi_layer`` field."""
        owner = type(self).__name__
        layer_cls = ps_roi_layer_class(layer_cfg.get('type'))
        cfg = {key: value for key, value in layer_cfg.items() if key != 'type'}
        if 'spatial_scale' in cfg:
            raise ValueError(f'{owner}: roi_layer.spatial_scale is set from '
                             'featmap_strides; remove it from roi_layer')
        accepted = set(inspect.signature(layer_cls).parameters) - {'spatial_scale'}
        unknown = sorted(set(cfg) - accepted)
        if unknown:
            raise ValueError(f'{owner}: {", ".join("roi_layer." + k for k in unknown)} '
                             f'is not an argument of {layer_cls.__name__} (it takes '
                             f'{", ".join(sorted(accepted))})')
        try:
            return nn.ModuleList([layer_cls(spatial_scale=1 / s, **cfg) for s in featmap_strides])
        except (TypeError, ValueError) as error:
            raise ValueError(f'{owner}: bad roi_layer {layer_cfg}: {error}') from error

    @property
    def output_size(self) -> Tuple[int, int]:
        """(kh, kw) of the pooled bins."""
        return self.roi_layers[0].output_size

    def forward(self, feats: Tuple[Tensor], rois: Tensor, roi_scale_factor: Optional[float] = None,
                **per_roi: Optional[Tensor]) -> Tensor:
        return self.pool(feats, rois, roi_scale_factor, **per_roi)

    def pool(self, feats: Tuple[Tensor], rois: Tensor, roi_scale_factor: Optional[float] = None,
             **per_roi: Optional[Tensor]) -> Tensor:
        """Maps each RoI to its level and pools it there with :meth:`pool_level`, which also
        gets the rows of the ``per_roi`` tensors (row ``i`` belongs to RoI ``i``; ``None``
        stays ``None``) that belong to the level's RoIs.

        RoIs stay in float32 (or float64) whatever the maps' dtype: in bfloat16 an x in
        [512, 1024) would snap to steps of 4 pixels. Under mixed precision the maps may be
        float16/bfloat16; the output has the widest dtype of the levels."""
        rois = rois.to(roi_dtype(feats[0].dtype))
        levels = self.map_roi_levels(rois, len(feats)) if len(feats) > 1 else None
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        if levels is None:
            return self.pool_level(0, feats[0], rois, **per_roi)
        kh, kw = self.output_size
        dtype = functools.reduce(torch.promote_types, (feat.dtype for feat in feats))
        out = feats[0].new_zeros(rois.size(0), feats[0].size(1) // (kh * kw), kh, kw,
                                 dtype=dtype)
        for level, feat in enumerate(feats):
            inds = (levels == level).nonzero(as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                rows = {name: None if t is None else t[inds] for name, t in per_roi.items()}
                out[inds] = self.pool_level(level, feat, rois[inds], **rows).to(dtype)
            else:
                # keep every level in the graph (distributed training expects it)
                out = out + feat.sum() * 0.
        return out

    def pool_level(self, level: int, feat: Tensor, rois: Tensor,
                   **per_roi: Optional[Tensor]) -> Tensor:
        """Pools ``rois`` ``(K_l, 5)`` from ``feat``, the maps of ``level``, with the level's
        layer, which gets the level's rows of the ``per_roi`` tensors as keyword arguments."""
        return self.roi_layers[level](feat, rois, **per_roi)
