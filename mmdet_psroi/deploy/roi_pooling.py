"""RoI extractors' pooling as an exported graph computes it: each RoI pooled once, from the level
``map_roi_levels`` gives it.

mmdet's ``SingleRoIExtractor.forward`` and ``PSRoIExtractor.pool`` write each level's result
into a preallocated output and skip empty levels (a branch on a data-dependent size). Here the
RoIs of each level are selected (``NonZero``, ``Gather``), pooled, concatenated level after
level and put back in their input order by one scatter (``ScatterND``) with the inverse of that
permutation: the same values, with no branch and no RoI pooled at a level it does not belong to.

:func:`ps_extractor_pool` is a drop-in for ``PSRoIExtractor.pool`` (the per-level hook
``pool_level`` of the extractor, a subclass's included, does the pooling);
:func:`roi_align_extractor_forward` for mmdet's ``SingleRoIExtractor.forward`` with mmcv
``RoIAlign`` layers (pooled with ONNX ``RoiAlign``).
"""
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor

from .graph_ops import roi_align


def pool_by_level(pool_level: Callable[..., Tensor], feats: Sequence[Tensor], rois: Tensor,
                  levels: Tensor, **per_roi: Optional[Tensor]) -> Tensor:
    """``pool_level(level, feats[level], rois_l, **rows_l)`` for each level's RoIs ``rois_l``
    (the rows of ``rois`` ``(K, 5)`` whose ``levels`` ``(K,)`` is ``level``) and the same rows
    of each ``per_roi`` tensor (``None`` stays ``None``), the results in the order of
    ``rois``: ``(K, ...)``."""
    pooled, order = [], []
    for level, feat in enumerate(feats):
        inds = (levels == level).nonzero(as_tuple=False).squeeze(1)
        rows = {name: None if t is None else t[inds] for name, t in per_roi.items()}
        pooled.append(pool_level(level, feat, rois[inds], **rows))
        order.append(inds)
    pooled_rows = torch.cat(pooled)
    # row j of pooled_rows belongs to RoI order[j]
    return torch.zeros_like(pooled_rows).index_put((torch.cat(order), ), pooled_rows)


def pool_levels(extractor, pool_level: Callable[..., Tensor], feats: Sequence[Tensor],
                rois: Tensor, roi_scale_factor: Optional[float] = None,
                **per_roi: Optional[Tensor]) -> Tensor:
    """mmdet's multi-level extraction with ``pool_level(level, feat, rois, **per_roi)``: the
    levels mapped from the RoIs as given (``extractor.map_roi_levels``), the RoIs then
    rescaled by ``roi_scale_factor`` (``extractor.roi_rescale``), each pooled from its level."""
    levels = extractor.map_roi_levels(rois, len(feats)) if len(feats) > 1 else None
    if roi_scale_factor is not None:
        rois = extractor.roi_rescale(rois, roi_scale_factor)
    if levels is None:
        return pool_level(0, feats[0], rois, **per_roi)
    return pool_by_level(pool_level, feats, rois, levels, **per_roi)


def ps_extractor_pool(extractor, feats: Sequence[Tensor], rois: Tensor,
                      roi_scale_factor: Optional[float] = None,
                      **per_roi: Optional[Tensor]) -> Tensor:
    """``PSRoIExtractor.pool(extractor, feats, rois, roi_scale_factor, **per_roi)`` for a graph:
    the RoIs in the maps' pooling dtype (float32 for float32 maps), each pooled once with
    ``extractor.pool_level`` from its own level; ``per_roi`` tensors (one row per RoI, e.g. a
    deformable layer's ``offset``) follow their RoIs. Returns ``(K, C_out, kh, kw)``."""
    from mmdet_psroi.models.roi_extractors.ps_roi_extractor import roi_dtype

    return pool_levels(extractor, extractor.pool_level, feats, rois.to(roi_dtype(feats[0].dtype)),
                       roi_scale_factor, **per_roi)


def roi_align_extractor_forward(extractor, feats: Sequence[Tensor], rois: Tensor,
                                roi_scale_factor: Optional[float] = None) -> Tensor:
    """mmdet's ``SingleRoIExtractor.forward`` with mmcv ``RoIAlign`` layers (``pool_mode='avg'``,
    see :func:`~mmdet_psroi.deploy.graph_ops.roi_align`), for a graph: ``(K, C, oh, ow)``."""

    def pool_level(level, feat, level_rois):
        layer = extractor.roi_layers[level]
        return roi_align(feat, level_rois, layer.output_size, layer.spatial_scale,
                         layer.sampling_ratio, layer.aligned)

    return pool_levels(extractor, pool_level, feats, rois, roi_scale_factor)
