from .ps_bbox_head import PSBBoxHead

__all__ = ['PSBBoxHead']
