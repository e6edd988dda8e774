from typing import Optional, Sequence

import torch
from mmdet.registry import MODELS
from torch import Tensor

from mmdet_psroi.models.roi_heads.ps_maps_roi_head import build_with_output_size
from mmdet_psroi.models.roi_heads.rfcn_roi_head import RFCNRoIHead
from mmdet_psroi.ops import DeformPSRoIPool


@MODELS.register_module()
class DeformableRFCNRoIHead(RFCNRoIHead):
    """Deformable R-FCN's RoI head.

    Once per training step or inference batch (``PSMapsRoIHead.compute_maps``),
    ``DeformablePSBBoxHead.forward_maps`` gives per level the class and box score maps and
    their offset maps, one tensor. Per RoI (:meth:`_bbox_forward`), the offset maps are
    PS-pooled without offsets (``offset_roi_extractor``) to normalised offsets,
    ``(K, 2*(C+1), ph, pw)`` for the classes and ``(K, 2, ph, pw)`` for the boxes, which move
    the bins of the deformable PS pooling of the score maps (``bbox_roi_extractor``); the head
    then votes as R-FCN's. The offsets are pooled with one op call per level; the class and
    box maps with one deformable call each, as their offsets have different groups (one per
    class, one for the four box channels). Pooling both in one call with the box offsets
    repeated per box channel costs more: the op collects the sample taps per offset group,
    and on a one-class model (NEON trees) that call took 1.7x the CPU time of the two.

    Args:
        bbox_roi_extractor (dict): a ``PSRoIExtractor`` config with
            ``roi_layer.type='DeformPSRoIPool'`` (public code: part_size=k, sample_per_part=4,
            trans_std=0.1); its output size is ``bbox_head.roi_feat_size``.
        bbox_head (dict): a ``DeformablePSBBoxHead`` config.
        offset_roi_extractor (dict, optional): the extractor of the offsets; default: that of
            ``bbox_roi_extractor``. Its output size is set to the main layer's ``part_size``
            (``(ph, pw)``, the parts the offsets move).
        **kwargs: the rest of ``RFCNRoIHead``.
    """

    def __init__(self, bbox_roi_extractor: dict, bbox_head: dict,
                 offset_roi_extractor: Optional[dict] = None, **kwargs) -> None:
        super().__init__(bbox_roi_extractor=bbox_roi_extractor, bbox_head=bbox_head, **kwargs)
        layer = self.bbox_roi_extractor.roi_layers[0]
        if not isinstance(layer, DeformPSRoIPool):
            raise ValueError("DeformableRFCNRoIHead: bbox_roi_extractor.roi_layer.type must be "
                             f"'DeformPSRoIPool' (it takes the offsets), got "
                             f'{type(layer).__name__!r}')
        if offset_roi_extractor is None:  # the main extractor, pooling part_size bins
            roi_layer = {key: value for key, value in bbox_roi_extractor['roi_layer'].items()
                         if key != 'output_size'}
            offset_roi_extractor = dict(bbox_roi_extractor, roi_layer=roi_layer)
        self.offset_roi_extractor = build_with_output_size(
            'DeformableRFCNRoIHead', offset_roi_extractor, 'offset_roi_extractor',
            layer.part_size, 'bbox_roi_extractor.roi_layer.part_size')

    def _bbox_forward(self, maps: Sequence[Tensor], rois: Tensor) -> dict:
        """``maps``: ``compute_maps``'s (or a slice of them); ``rois`` ``(K, 5)``. Returns
        ``cls_score``, ``bbox_pred``, ``bbox_feats`` (the pooled class scores) and the pooled
        ``offsets`` (class, box)."""
        head = self.bbox_head
        cls_maps, reg_maps, offset_maps = zip(*(head.split_maps(level) for level in maps))
        cls_offset, reg_offset = head.split_offsets(self.offset_roi_extractor(offset_maps, rois))
        cls_feats = self.bbox_roi_extractor(cls_maps, rois, offset=cls_offset)
        reg_feats = self.bbox_roi_extractor(reg_maps, rois, offset=reg_offset)
        cls_score, bbox_pred = head(torch.cat([cls_feats, reg_feats], dim=1))
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=cls_feats,
                    offsets=(cls_offset, reg_offset))
