"""``nn.Module`` wrappers, built from config dicts such as
``roi_layer=dict(type='PSRoIPool', output_size=7, spatial_scale=1 / 16)``.

``torch.fx.symbolic_trace`` of a model that contains them records each call as one node
(``ps_roi_pool`` / ``ps_roi_align``); ``torch.jit.script`` of them is not supported.
"""
import torch
from torch import nn

from .ps_roi import (
    NOT_GIVEN,
    POOL_RULES,
    RuleAlias,
    check_sampling_ratio,
    check_spatial_scale,
    pair_output_size,
    ps_roi_align,
    ps_roi_pool,
    resolve_rule,
)

# Leaves for torch.fx: the functions' argument checks cannot run on the tracer's proxies.
torch.fx.wrap('ps_roi_pool')
torch.fx.wrap('ps_roi_align')


class PSRoIPool(RuleAlias, nn.Module):
    """Position-sensitive RoI pooling, see :func:`ps_roi_pool`.

    ``forward(input, rois)``: ``(N, C_out*kh*kw, H, W)`` and ``(K, 5)`` -> ``(K, C_out, kh, kw)``.
    ``rule='caffe'`` quantises as R-FCN's original Caffe layer, ``'torchvision'`` (default) as
    torchvision; ``original`` is its deprecated alias (True: ``'caffe'``).
    """

    RULES = POOL_RULES

    def __init__(self, output_size, spatial_scale=1.0, rule='torchvision', *, original=NOT_GIVEN):
        super().__init__()
        self.output_size = pair_output_size(output_size)
        self.spatial_scale = check_spatial_scale(spatial_scale)
        self.rule = resolve_rule(rule, original, self.RULES)

    def forward(self, input, rois):
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale, self.rule)

    def extra_repr(self):
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'rule={self.rule!r}')


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
