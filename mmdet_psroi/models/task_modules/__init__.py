"""Task modules (samplers, anchor generators, box coders), registered in
``mmdet.registry.TASK_UTILS`` on import."""
from .coders import PyFasterRCNNBBoxCoder
from .prior_generators import PyFasterRCNNAnchorGenerator
from .samplers import TotalLossOHEMSampler

__all__ = ['PyFasterRCNNAnchorGenerator', 'PyFasterRCNNBBoxCoder', 'TotalLossOHEMSampler']
