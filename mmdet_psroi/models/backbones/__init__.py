"""Backbones, registered in ``mmdet.registry.MODELS`` on import."""
from .caffe_stem_resnet import CaffeStemResNet

__all__ = ['CaffeStemResNet']
