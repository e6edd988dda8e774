from .ps_roi_extractor import PS_ROI_LAYERS, PSRoIExtractor

__all__ = ['PS_ROI_LAYERS', 'PSRoIExtractor']
