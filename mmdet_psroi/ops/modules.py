"""``nn.Module`` wrappers, built from config dicts such as
``roi_layer=dict(type='PSRoIPool', output_size=7, spatial_scale=1 / 16)``.

``torch.fx.symbolic_trace`` of a model that contains them records each call as one node
(``ps_roi_pool`` / ``ps_roi_align``); ``torch.jit.script`` of them is not supported.
"""
import torch
from torch import nn

from .ps_roi import (
    check_original,
    check_sampling_ratio,
    check_spatial_scale,
    pair_output_size,
    ps_roi_align,
    ps_roi_pool,
)

# Leaves for torch.fx: the functions' argument checks cannot run on the tracer's proxies.
torch.fx.wrap('ps_roi_pool')
torch.fx.wrap('ps_roi_align')


class PSRoIPool(nn.Module):
    """Position-sensitive RoI pooling, see :func:`ps_roi_pool`.

    ``forward(input, rois)``: ``(N, C_out*kh*kw, H, W)`` and ``(K, 5)`` -> ``(K, C_out, kh, kw)``.
    ``original=True`` quantises as R-FCN's original Caffe layer, False as torchvision.
    """

    def __init__(self, output_size, spatial_scale=1.0, original=False):
        super().__init__()
        self.output_size = pair_output_size(output_size)
        self.spatial_scale = check_spatial_scale(spatial_scale)
        self.original = check_original(original)

    def forward(self, input, rois):
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale, self.original)

    def extra_repr(self):
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'original={self.original}')


class PSRoIAlign(nn.Module):
    """Position-sensitive RoI Align, see :func:`ps_roi_align`.

    ``forward(input, rois)``: ``(N, C_out*kh*kw, H, W)`` and ``(K, 5)`` -> ``(K, C_out, kh, kw)``.
    """

    def __init__(self, output_size, spatial_scale=1.0, sampling_ratio=-1):
        super().__init__()
        self.output_size = pair_output_size(output_size)
        self.spatial_scale = check_spatial_scale(spatial_scale)
        self.sampling_ratio = check_sampling_ratio(sampling_ratio)

    def forward(self, input, rois):
        return ps_roi_align(input, rois, self.output_size, self.spatial_scale,
                            self.sampling_ratio)

    def extra_repr(self):
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}')
