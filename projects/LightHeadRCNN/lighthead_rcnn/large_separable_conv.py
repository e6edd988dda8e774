from typing import Optional

from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn


@MODELS.register_module()
class LargeSeparableConv(BaseModule):
    """Light-Head R-CNN's "thin feature maps": a large separable convolution.

    Two branches on the same input, ``(k x 1) -> (1 x k)`` and ``(1 x k) -> (k x 1)``, each
    ``in_channels -> mid_channels -> out_channels`` with no activation inside a branch; the
    branches are summed, then ReLU (Li et al., 2017, section 3.3). Run once per image (and per
    level), so its cost does not grow with the number of RoIs. The output size equals the
    input size (zero padding ``k // 2``).

    Args:
        in_channels (int): channels of the input map (2048 for ResNet conv5).
        mid_channels (int): ``C_mid``, the branches' inner width (paper: 256 for R-101,
            64 for the small model).
        out_channels (int): ``C_out = alpha * kh * kw`` (paper: 10 * 7 * 7 = 490).
        kernel_size (int): ``k``, odd (paper: 15).
        init_cfg (dict, optional): default: normal, std 0.01, biases 0.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, H, W)``.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 mid_channels: int = 256,
                 out_channels: int = 490,
                 kernel_size: int = 15,
                 init_cfg: Optional[dict] = None) -> None:
        for name, value in (('in_channels', in_channels), ('mid_channels', mid_channels),
                            ('out_channels', out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f'LargeSeparableConv: {name} must be a positive int, '
                                 f'got {value!r}')
        if (not isinstance(kernel_size, int) or isinstance(kernel_size, bool)
                or kernel_size <= 0 or kernel_size % 2 == 0):
            raise ValueError('LargeSeparableConv: kernel_size must be a positive odd int, '
                             f'got {kernel_size!r}')
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01, bias=0)
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        k, p = kernel_size, kernel_size // 2
        self.col_then_row = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, (k, 1), padding=(p, 0)),
            nn.Conv2d(mid_channels, out_channels, (1, k), padding=(0, p)))
        self.row_then_col = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, (1, k), padding=(0, p)),
            nn.Conv2d(mid_channels, out_channels, (k, 1), padding=(p, 0)))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f'LargeSeparableConv: expected a (N, {self.in_channels}, H, W) '
                             f'map, got shape {tuple(x.shape)}: set thin_map_conv.in_channels '
                             'to the channels of the level the RoI head reads')
        return (self.col_then_row(x) + self.row_then_col(x)).relu_()
