"""R-FCN components, registered in ``mmdet.registry.MODELS`` on import."""
from . import task_modules  # noqa: F401  (registers the samplers in TASK_UTILS)
from .detectors import RFCN
from .roi_extractors import PSRoIExtractor
from .roi_heads import PSBBoxHead, RFCNRoIHead

__all__ = ['PSRoIExtractor', 'PSBBoxHead', 'RFCNRoIHead', 'RFCN']
