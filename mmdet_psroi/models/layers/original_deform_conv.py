from typing import Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn
from torch.nn.modules.utils import _pair


def original_deform_conv2d(x: Tensor, offset: Tensor, weight: Tensor, stride: Tuple[int, int],
                           padding: Tuple[int, int], dilation: Tuple[int, int],
                           deform_groups: int) -> Tensor:
    """Deformable convolution (v1) with the sampling rule of Deformable-ConvNets' kernel (MXNet's
    ``DeformableConvolution``, with which the authors' models were trained): a tap at ``(h, w)``
    reads 0 unless ``0 <= h < H`` and ``0 <= w < W``, and then interpolates bilinearly between
    rows ``floor(h)`` and ``min(floor(h) + 1, H - 1)`` (columns likewise), so a tap in the last
    row's cell reads that row. mmcv's ``DeformConv2d`` instead reads taps in ``(-1, H)`` with
    zeros outside: the two differ wherever a tap falls within one pixel of the border.

    Shapes: ``x`` ``(N, C, H, W)``, ``offset`` ``(N, 2*G*kh*kw, Ho, Wo)`` (per group ``g`` and
    tap ``k = i*kw + j``: channel ``2*(g*kh*kw + k)`` the row offset, ``+1`` the column offset),
    ``weight`` ``(O, C, kh, kw)`` -> ``(N, O, Ho, Wo)``. Pure torch, differentiable.
    """
    n, channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    ho, wo = offset.shape[-2:]
    taps = kh * kw
    offset = offset.view(n, deform_groups, taps, 2, ho, wo)
    tap_rows = torch.arange(kh, device=x.device).repeat_interleave(kw) * dilation[0]
    tap_cols = torch.arange(kw, device=x.device).repeat(kh) * dilation[1]
    rows = (torch.arange(ho, device=x.device) * stride[0] - padding[0])[None, :, None]
    cols = (torch.arange(wo, device=x.device) * stride[1] - padding[1])[None, None, :]
    h = (rows + tap_rows[:, None, None]).to(x.dtype) + offset[:, :, :, 0]  # (N, G, K, Ho, Wo)
    w = (cols + tap_cols[:, None, None]).to(x.dtype) + offset[:, :, :, 1]
    inside = ((h >= 0) & (h < height) & (w >= 0) & (w < width)).to(x.dtype)
    h, w = h.clamp(0, height - 1), w.clamp(0, width - 1)
    h_low, w_low = h.floor(), w.floor()
    lh, lw = h - h_low, w - w_low
    h_low, w_low = h_low.long(), w_low.long()
    h_high, w_high = (h_low + 1).clamp(max=height - 1), (w_low + 1).clamp(max=width - 1)
    group_channels = channels // deform_groups
    flat = x.reshape(n, deform_groups, group_channels, height * width)

    def read(rows_index, cols_index):
        index = (rows_index * width + cols_index).view(n, deform_groups, 1, -1)
        return flat.gather(3, index.expand(-1, -1, group_channels, -1)).view(
            n, deform_groups, group_channels, taps, ho, wo)

    def per_channel(t):
        return t[:, :, None]

    sampled = (read(h_low, w_low) * per_channel((1 - lh) * (1 - lw) * inside)
               + read(h_low, w_high) * per_channel((1 - lh) * lw * inside)
               + read(h_high, w_low) * per_channel(lh * (1 - lw) * inside)
               + read(h_high, w_high) * per_channel(lh * lw * inside))
    columns = sampled.reshape(n, channels * taps, ho * wo)
    return (weight.reshape(out_channels, -1) @ columns).view(n, out_channels, ho, wo)


@MODELS.register_module('OriginalDCN')
class OriginalDeformConv2dPack(nn.Module):
    """A deformable convolution (v1) that computes its offsets with a conv
    (``conv_offset``, as mmcv's ``DeformConv2dPack``, same parameter names and offset layout)
    and samples as Deformable-ConvNets' kernel (:func:`original_deform_conv2d`): for the models
    trained with it, e.g. the authors' Deformable R-FCN.

    In a ResNet: ``dcn=dict(type='OriginalDCN', deform_groups=4, fallback_on_stride=False)``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation: as ``nn.Conv2d``.
        deform_groups (int): offset groups (dividing ``in_channels``).
        bias (bool): only False (the models it serves have none).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=0,
                 dilation=1, groups: int = 1, deform_groups: int = 1, bias: bool = False) -> None:
        super().__init__()
        if bias or groups != 1:
            raise ValueError('OriginalDCN: bias=True and groups > 1 are not supported')
        if in_channels % deform_groups:
            raise ValueError(f'OriginalDCN: deform_groups={deform_groups} must divide '
                             f'in_channels={in_channels}')
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.deform_groups = deform_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=1)
        self.conv_offset = nn.Conv2d(in_channels, deform_groups * 2 * self.kernel_size[0]
                                     * self.kernel_size[1], self.kernel_size, self.stride,
                                     self.padding, self.dilation, bias=True)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: Tensor) -> Tensor:
        return original_deform_conv2d(x, self.conv_offset(x), self.weight, self.stride,
                                      self.padding, self.dilation, self.deform_groups)
