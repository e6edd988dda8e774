"""Layers that mmdet's builders pick by type (``build_conv_layer``), registered in
``mmdet.registry.MODELS`` on import."""
from .original_deform_conv import OriginalDeformConv2dPack

__all__ = ['OriginalDeformConv2dPack']
