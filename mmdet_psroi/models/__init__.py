"""R-FCN components, registered in mmdet's registries on import.

Before anything is registered, the OpenMMLab stack is checked (an ImportError names the
versions found and the supported ones) and ``torch.load`` is let read mmengine's checkpoints
(:mod:`mmdet_psroi.utils.checkpoint`).
"""
from ..utils import allow_mmengine_checkpoints, check_openmmlab_stack

check_openmmlab_stack()
allow_mmengine_checkpoints()

from . import task_modules  # noqa: E402,F401  (registers the samplers in TASK_UTILS)
from .backbones import CaffeStemResNet  # noqa: E402
from .detectors import RFCN  # noqa: E402
from .layers import OriginalDeformConv2dPack  # noqa: E402
from .roi_extractors import PS_ROI_LAYERS, PSRoIExtractor  # noqa: E402
from .roi_heads import PSBBoxHead, PSMapsRoIHead, RFCNRoIHead  # noqa: E402

__all__ = ['CaffeStemResNet', 'OriginalDeformConv2dPack', 'PS_ROI_LAYERS', 'PSRoIExtractor',
           'PSBBoxHead', 'PSMapsRoIHead', 'RFCNRoIHead', 'RFCN']
