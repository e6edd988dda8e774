"""Position-sensitive RoI pooling (R-FCN), compiled for the CPU and CUDA. Depends on torch only.

>>> from mmdet_psroi.ops import ps_roi_align
>>> out = ps_roi_align(feats, rois, output_size=7, spatial_scale=1 / 16)
"""
from ._library import load_library

load_library()

from .deform_ps_roi_pool import DeformPSRoIPool, deform_ps_roi_pool  # noqa: E402
from .modules import PSRoIAlign, PSRoIPool  # noqa: E402
from .ps_roi import ps_roi_align, ps_roi_pool  # noqa: E402

__all__ = ['ps_roi_pool', 'ps_roi_align', 'PSRoIPool', 'PSRoIAlign', 'deform_ps_roi_pool',
           'DeformPSRoIPool']
