"""Light-Head R-CNN (Li et al., 2017) on mmdet-psroi's position-sensitive op: registers
``LargeSeparableConv`` and ``LightHeadRoIHead`` in ``mmdet.registry.MODELS`` and
``PSRoIAlignMax`` in ``mmdet_psroi.models.PS_ROI_LAYERS`` on import (``custom_imports`` in
the configs)."""
import mmdet_psroi.plugin  # noqa: F401  (checks the stack, registers what these build on)

from .large_separable_conv import LargeSeparableConv
from .lighthead_roi_head import LightHeadRoIHead
from .ps_roi_align_max import PSRoIAlignMax

__all__ = ['LargeSeparableConv', 'LightHeadRoIHead', 'PSRoIAlignMax']
