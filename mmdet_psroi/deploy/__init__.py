"""Exportable test-time graphs of mmdet two-stage detectors (R-FCN, Faster R-CNN, Light-Head
R-CNN, Deformable R-FCN) for ``torch.onnx.export``: one image tensor in, ``dets`` and
``labels`` out, computed as the model's ``predict`` computes them (see
:class:`ExportableDetector`).

>>> from mmdet_psroi.deploy import ExportableDetector
>>> graph = ExportableDetector(model.eval())
>>> dets, labels = graph(image)  # (1, 3, H, W) -> (N, 5), (N,)
"""
from .detector import ExportableDetector, check_detector
from .errors import UnsupportedExport

__all__ = ['ExportableDetector', 'UnsupportedExport', 'check_detector']
