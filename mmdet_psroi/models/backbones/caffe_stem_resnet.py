from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch import nn


@MODELS.register_module()
class CaffeStemResNet(ResNet):
    """mmdet's ``ResNet`` with the stem pooling of the original Caffe ResNets (MSRA's
    ResNet-v1, and the MXNet models converted from them, e.g. Deformable-ConvNets' R-FCN):
    3x3 max pooling of stride 2 without padding, the output size rounded up (Caffe's pooling,
    MXNet's ``pooling_convention='full'``). mmdet's stem pads by 1 and rounds down: each window
    is one pixel up and left of Caffe's, so weights trained with Caffe's stem see shifted
    features there.

    Args: those of mmdet's ``ResNet`` (use ``style='caffe'`` for these models).
    """

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        super()._make_stem_layer(in_channels, stem_channels)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)
