"""Light-Head R-CNN (Li et al., 2017) on mmdet-psroi's position-sensitive op: registers
``LargeSeparableConv``, ``LightHeadRoIExtractor`` and ``LightHeadRoIHead`` in
``mmdet.registry.MODELS`` on import (``custom_imports`` in the configs)."""
import mmdet_psroi.plugin  # noqa: F401  (checks the stack, registers what these build on)

from .large_separable_conv import LargeSeparableConv
from .lighthead_roi_head import LightHeadRoIHead
from .ps_roi_align_max import LightHeadRoIExtractor, PSRoIAlignMax

__all__ = ['LargeSeparableConv', 'LightHeadRoIExtractor', 'LightHeadRoIHead', 'PSRoIAlignMax']
