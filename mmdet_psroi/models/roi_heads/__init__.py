from .bbox_heads import PSBBoxHead
from .ps_maps_roi_head import PSMapsRoIHead
from .rfcn_roi_head import RFCNRoIHead

__all__ = ['PSBBoxHead', 'PSMapsRoIHead', 'RFCNRoIHead']
