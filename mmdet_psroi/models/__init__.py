"""R-FCN components, registered in mmdet's registries on import.

Configs import :mod:`mmdet_psroi.plugin`, which checks the OpenMMLab stack and lets
``torch.load`` read mmengine's checkpoints before it imports this package.
"""
from . import task_modules  # noqa: F401  (registers the samplers in TASK_UTILS)
from .detectors import RFCN
from .roi_extractors import PSRoIExtractor
from .roi_heads import PSBBoxHead, RFCNRoIHead

__all__ = ['PSRoIExtractor', 'PSBBoxHead', 'RFCNRoIHead', 'RFCN']
