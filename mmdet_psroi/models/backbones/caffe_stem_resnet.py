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

    The rounded-up pooling is written as one row and column of ``-inf`` at the bottom and right
    and pooling rounded down: the same windows (rounding up adds at most the one window that
    starts on the last pixel, whose padded cells never win the max), which the ONNX exporters
    trace with dynamic image sizes (torch 2.1's TorchScript exporter refuses ``ceil_mode`` with
    a dynamic input size).

    Args: those of mmdet's ``ResNet`` (use ``style='caffe'`` for these models).
    """

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        super()._make_stem_layer(in_channels, stem_channels)
        self.maxpool = nn.Sequential(nn.ConstantPad2d((0, 1, 0, 1), float('-inf')),
                                     nn.MaxPool2d(kernel_size=3, stride=2, padding=0))
