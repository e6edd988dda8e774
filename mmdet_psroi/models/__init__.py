"""R-FCN components, registered in mmdet's registries on import.

Configs import :mod:`mmdet_psroi.plugin`, which checks the OpenMMLab stack and lets
``torch.load`` read mmengine's checkpoints before it imports this package.
"""
from . import task_modules  # noqa: F401  (registers the samplers in TASK_UTILS)
from .backbones import CaffeStemResNet
from .detectors import RFCN
from .layers import OriginalDeformConv2dPack
from .roi_extractors import PS_ROI_LAYERS, PSRoIExtractor
from .roi_heads import PSBBoxHead, PSMapsRoIHead, RFCNRoIHead

__all__ = ['CaffeStemResNet', 'OriginalDeformConv2dPack', 'PS_ROI_LAYERS', 'PSRoIExtractor',
           'PSBBoxHead', 'PSMapsRoIHead', 'RFCNRoIHead', 'RFCN']
