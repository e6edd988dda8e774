"""Exportable test-time graphs of mmdet two-stage detectors (R-FCN, Faster R-CNN, Light-Head
R-CNN, Deformable R-FCN, and any head keeping mmdet's contract) for ``torch.onnx.export``, either
exporter: one image tensor in, ``dets`` and ``labels`` out, computed by the model's own
``predict`` inside :func:`export_context` (see :class:`ExportableDetector`).

>>> from mmdet_psroi.deploy import ExportableDetector
>>> graph = ExportableDetector(model.eval())
>>> dets, labels = graph(image)  # (1, 3, H, W) -> (N, 5), (N,)
"""
from .detector import ExportableDetector, check_detector
from .errors import UnsupportedExport
from .export_context import export_context

__all__ = ['ExportableDetector', 'UnsupportedExport', 'check_detector', 'export_context']
