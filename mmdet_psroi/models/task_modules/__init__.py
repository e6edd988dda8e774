"""Task modules (samplers, anchor generators), registered in ``mmdet.registry.TASK_UTILS``
on import."""
from .prior_generators import PyFasterRCNNAnchorGenerator
from .samplers import TotalLossOHEMSampler

__all__ = ['PyFasterRCNNAnchorGenerator', 'TotalLossOHEMSampler']
