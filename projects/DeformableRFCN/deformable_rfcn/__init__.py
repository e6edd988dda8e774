"""Deformable R-FCN (Dai et al., 2017): deformable PS RoI pooling in the R-FCN head.

Registered into mmdet's MODELS when imported (configs: ``custom_imports``). The deformable
pooling layer, 'DeformPSRoIPool', is one of the package's ``PS_ROI_LAYERS``: a
``PSRoIExtractor`` builds it and passes each RoI's ``offset`` on to it."""
from .deformable_ps_bbox_head import DeformablePSBBoxHead
from .deformable_rfcn_roi_head import DeformableRFCNRoIHead

__all__ = ['DeformablePSBBoxHead', 'DeformableRFCNRoIHead']
