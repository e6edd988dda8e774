from .bbox_heads import PSBBoxHead
from .rfcn_roi_head import RFCNRoIHead

__all__ = ['PSBBoxHead', 'RFCNRoIHead']
