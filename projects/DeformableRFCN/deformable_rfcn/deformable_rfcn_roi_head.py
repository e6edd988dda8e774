from typing import Optional, Sequence

import torch
from mmdet.registry import MODELS
from torch import Tensor

from mmdet_psroi.models.roi_heads.rfcn_roi_head import RFCNRoIHead


@MODELS.register_module()
class DeformableRFCNRoIHead(RFCNRoIHead):
    """Deformable R-FCN's RoI head.

    Once per training step or inference batch (``RFCNRoIHead.compute_maps``),
    ``DeformablePSBBoxHead.forward_maps`` gives per level the class and box score maps and
    their offset maps, one tensor. Per RoI (:meth:`_bbox_forward`), the offset maps are
    PS-pooled without offsets (``offset_roi_extractor``) to normalised offsets,
    ``(K, 2*(C+1), k, k)`` for the classes and ``(K, 2, k, k)`` for the boxes, which move the
    bins of the deformable PS pooling of the score maps (``bbox_roi_extractor``); the head
    then votes as R-FCN's. The offsets are pooled with one op call per level; the class and
    box maps with one deformable call each, as their offsets have different groups (one per
    class, one for the four box channels). Pooling both in one call with the box offsets
    repeated per box channel costs more: the op collects the sample taps per offset group,
    and on a one-class model (NEON trees) that call took 1.7x the CPU time of the two.

    Args:
        bbox_roi_extractor (dict): a ``DeformPSRoIExtractor`` config (public code: k=7,
            part_size=7, sample_per_part=4, trans_std=0.1).
        bbox_head (dict): a ``DeformablePSBBoxHead`` config.
        offset_roi_extractor (dict, optional): the extractor of the offsets; default: a copy of
            ``bbox_roi_extractor`` (its ``output_size`` must equal the main ``part_size``).
        **kwargs: the rest of ``RFCNRoIHead``.
    """

    def __init__(self, bbox_roi_extractor: dict, bbox_head: dict,
                 offset_roi_extractor: Optional[dict] = None, **kwargs) -> None:
        super().__init__(bbox_roi_extractor=bbox_roi_extractor, bbox_head=bbox_head, **kwargs)
        self.offset_roi_extractor = MODELS.build(offset_roi_extractor or bbox_roi_extractor)
        parts = tuple(self.bbox_roi_extractor.part_size)
        if tuple(self.offset_roi_extractor.output_size) != parts:
            raise ValueError(
                'DeformableRFCNRoIHead: offset_roi_extractor.roi_layer.output_size='
                f'{self.offset_roi_extractor.output_size} must equal '
                f'bbox_roi_extractor.roi_layer.part_size={parts}')

    def _bbox_forward(self, maps: Sequence[Tensor], rois: Tensor) -> dict:
        """``maps``: ``compute_maps``'s (or a slice of them); ``rois`` ``(K, 5)``. Returns
        ``cls_score``, ``bbox_pred``, ``bbox_feats`` (the pooled class scores) and the pooled
        ``offsets`` (class, box)."""
        head = self.bbox_head
        cls_maps, reg_maps, offset_maps = zip(*(head.split_maps(level) for level in maps))
        cls_offset, reg_offset = head.split_offsets(self.offset_roi_extractor(offset_maps, rois))
        cls_feats = self.bbox_roi_extractor(cls_maps, rois, cls_offset)
        reg_feats = self.bbox_roi_extractor(reg_maps, rois, reg_offset)
        cls_score, bbox_pred = head(torch.cat([cls_feats, reg_feats], dim=1))
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=cls_feats,
                    offsets=(cls_offset, reg_offset))
