"""How each supported RoI head turns the features it reads and a set of RoIs into class scores
and box deltas, for an exported graph. The one module that knows the heads' parts: it calls
the heads' ``compute_maps``, the extractors' pooling layers and the box heads' forward
directly, not the heads' loss/predict loops.

Multi-level extractors pool every RoI from every level and keep, per RoI, the level that
``map_roi_levels`` gives it (mmdet pools each RoI from that level alone: the same values,
without data-dependent scatter in the graph).
"""
from typing import Callable, Sequence, Tuple

import torch
from torch import Tensor

from .errors import UnsupportedExport
from .graph_ops import roi_align

HEADS = ('StandardRoIHead', 'RFCNRoIHead', 'DeformableRFCNRoIHead', 'LightHeadRoIHead')
PS_LAYERS = ('PSRoIPool', 'PSRoIAlign', 'PSRoIAlignMax')


def pool_levels(extractor, pool: Callable[[int, Tensor], Tensor], feats: Sequence[Tensor],
                rois: Tensor) -> Tensor:
    """``extractor``'s pooling of ``rois`` ``(K, 5)`` from ``feats``: ``pool(level, feat)``
    pools all RoIs from one level; with several levels each RoI takes the level
    ``extractor.map_roi_levels`` maps it to."""
    if len(feats) == 1:
        return pool(0, feats[0])
    levels = extractor.map_roi_levels(rois, len(feats)).view(-1, 1, 1, 1)
    out = pool(0, feats[0])
    for level in range(1, len(feats)):
        out = torch.where(levels == level, pool(level, feats[level]), out)
    return out


def _ps_pool(extractor, maps: Sequence[Tensor], rois: Tensor, offset=None) -> Tensor:
    layers = extractor.roi_layers
    if offset is None:
        return pool_levels(extractor, lambda i, feat: layers[i](feat, rois), maps, rois)
    return pool_levels(extractor, lambda i, feat: layers[i](feat, rois, offset), maps, rois)


def _standard(roi_head, feats, rois):
    extractor = roi_head.bbox_roi_extractor
    layers = extractor.roi_layers

    def pool(i, feat):
        layer = layers[i]
        return roi_align(feat, rois, layer.output_size, layer.spatial_scale,
                         layer.sampling_ratio, layer.aligned)

    bbox_feats = pool_levels(extractor, pool, feats[:extractor.num_inputs], rois)
    if roi_head.with_shared_head:
        bbox_feats = roi_head.shared_head(bbox_feats)
    return roi_head.bbox_head(bbox_feats)


def _pooled_maps(roi_head, feats, rois):
    """R-FCN and Light-Head R-CNN: the head's maps, pooled once per level, then its box head."""
    maps = roi_head.compute_maps(feats)
    return roi_head.bbox_head(_ps_pool(roi_head.bbox_roi_extractor, maps, rois))


def _deformable_rfcn(roi_head, feats, rois):
    head = roi_head.bbox_head
    cls_maps, reg_maps, offset_maps = zip(
        *(head.split_maps(level) for level in roi_head.compute_maps(feats)))
    cls_offset, reg_offset = head.split_offsets(
        _ps_pool(roi_head.offset_roi_extractor, offset_maps, rois))
    cls_feats = _ps_pool(roi_head.bbox_roi_extractor, cls_maps, rois, cls_offset)
    reg_feats = _ps_pool(roi_head.bbox_roi_extractor, reg_maps, rois, reg_offset)
    return head(torch.cat([cls_feats, reg_feats], dim=1))


_FORWARDS = dict(StandardRoIHead=_standard, RFCNRoIHead=_pooled_maps,
                 DeformableRFCNRoIHead=_deformable_rfcn, LightHeadRoIHead=_pooled_maps)


def roi_head_forward(roi_head, feats: Sequence[Tensor], rois: Tensor) -> Tuple[Tensor, Tensor]:
    """``roi_head._bbox_forward(feats, rois)``'s ``cls_score`` ``(K, num_classes+1)`` and
    ``bbox_pred`` ``(K, 4)`` or ``(K, 4*num_classes)``, for the levels ``feats`` the head
    reads and ``rois`` ``(K, 5)``."""
    return _FORWARDS[type(roi_head).__name__](roi_head, feats, rois)


def check_roi_head(roi_head) -> None:
    """Raises :class:`UnsupportedExport` unless :func:`roi_head_forward` reproduces
    ``roi_head``'s test-time forward."""
    name = type(roi_head).__name__
    if name not in _FORWARDS:
        raise UnsupportedExport(
            'model.roi_head', f'type {name!r}: the export reproduces {", ".join(HEADS)} only')
    for part in ('mask_head', 'mask_roi_extractor'):
        if getattr(roi_head, part, None) is not None:
            raise UnsupportedExport(f'model.roi_head.{part}',
                                    'masks are not exported (boxes and labels only)')
    layers = list(roi_head.bbox_roi_extractor.roi_layers)
    if name == 'StandardRoIHead':
        _check_roi_align_layers(layers)
    elif name in ('RFCNRoIHead', 'LightHeadRoIHead'):
        _check_ps_layers(layers)


def _check_ps_layers(layers) -> None:
    where = 'model.roi_head.bbox_roi_extractor.roi_layer'
    for layer in layers:
        if type(layer).__name__ not in PS_LAYERS:
            raise UnsupportedExport(where, f'type {type(layer).__name__!r}; the export pools '
                                    f'with {", ".join(PS_LAYERS)}')
        if getattr(layer, 'sampling_ratio', 1) <= 0:
            raise UnsupportedExport(f'{where}.sampling_ratio',
                                    f'{layer.sampling_ratio}: the adaptive sample grid depends '
                                    'on each RoI\'s size, which the ONNX graph cannot; set a '
                                    'fixed number of samples (e.g. 2)')


def _check_roi_align_layers(layers) -> None:
    from mmcv.ops import RoIAlign

    where = 'model.roi_head.bbox_roi_extractor.roi_layer'
    for layer in layers:
        if type(layer) is not RoIAlign:
            raise UnsupportedExport(where, f'type {type(layer).__name__!r}: a '
                                    'StandardRoIHead is exported with mmcv RoIAlign only '
                                    '(ONNX RoiAlign)')
        if layer.pool_mode != 'avg':
            raise UnsupportedExport(where, f"pool_mode={layer.pool_mode!r}: ONNX RoiAlign's "
                                    "'max' mode is not mmcv's; use 'avg'")
        if layer.use_torchvision:
            raise UnsupportedExport(where, 'use_torchvision=True: export the mmcv RoIAlign '
                                    '(use_torchvision=False), whose rule ONNX RoiAlign has')
