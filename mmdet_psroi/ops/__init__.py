"""Position-sensitive RoI pooling (R-FCN), compiled for the CPU and CUDA. Depends on torch only.

>>> from mmdet_psroi.ops import ps_roi_align
>>> out = ps_roi_align(feats, rois, output_size=7, spatial_scale=1 / 16)

ONNX: importing this package registers the ops with torch's TorchScript ONNX exporter;
the dynamo exporter takes ``custom_translation_table=onnx_translation_table()``
(:mod:`mmdet_psroi.ops.onnx_export`).
"""
from ._library import load_library

load_library()

from . import onnx_export  # noqa: E402
from .deform_ps_roi_pool import DeformPSRoIPool, deform_ps_roi_pool  # noqa: E402
from .modules import PSRoIAlign, PSRoIPool  # noqa: E402
from .onnx_export import OnnxExportError, onnx_translation_table  # noqa: E402
from .ps_roi import ps_roi_align, ps_roi_pool  # noqa: E402

onnx_export.register_torchscript_symbolics()

__all__ = ['ps_roi_pool', 'ps_roi_align', 'PSRoIPool', 'PSRoIAlign', 'deform_ps_roi_pool',
           'DeformPSRoIPool', 'onnx_translation_table', 'OnnxExportError']
