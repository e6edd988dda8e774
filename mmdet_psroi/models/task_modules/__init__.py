"""Training-time modules (samplers), registered in ``mmdet.registry.TASK_UTILS`` on import."""
from .samplers import TotalLossOHEMSampler

__all__ = ['TotalLossOHEMSampler']
