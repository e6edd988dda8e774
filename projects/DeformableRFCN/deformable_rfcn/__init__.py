"""Deformable R-FCN (Dai et al., 2017): deformable PS RoI pooling in the R-FCN head.

Registered into mmdet's MODELS when imported (configs: ``custom_imports``)."""
from .deform_ps_roi_extractor import DeformPSRoIExtractor
from .deformable_ps_bbox_head import DeformablePSBBoxHead
from .deformable_rfcn_roi_head import DeformableRFCNRoIHead

__all__ = ['DeformPSRoIExtractor', 'DeformablePSBBoxHead', 'DeformableRFCNRoIHead']
