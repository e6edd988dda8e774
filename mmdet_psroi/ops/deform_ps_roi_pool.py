"""Deformable position-sensitive RoI pooling (Deformable R-FCN, Dai et al. 2017).

Shapes: ``input`` ``(N, C_out*kh*kw, H, W)``; ``rois`` ``(K, 5)`` rows
``(batch_index, x1, y1, x2, y2)`` in image coordinates or a list of ``(L_i, 4)`` boxes, one
tensor per image (as :func:`~mmdet_psroi.ops.ps_roi_align`); ``offset``
``(K, 2*G, part_h, part_w)`` or ``None``; output ``(K, C_out, kh, kw)``. Output bin
``(c, i, j)`` reads input channel ``(c*kh + i)*kw + j`` (as ``ps_roi_align``), averaging
``sample_per_part**2`` bilinear samples of its bin moved by
``(offset_x * trans_std * roi_width, offset_y * trans_std * roi_height)``, where the offsets
are those of group ``c // (C_out // G)`` (channels ``2g``: x, ``2g + 1``: y) and of the part
that holds the bin. Samples outside a window around the map are skipped and the others
averaged (0 when none is left).

Two rules place the samples:

- ``rule='torchvision'`` (default), torchvision's ``ps_roi_align``'s: continuous RoI
  (``x * spatial_scale - 0.5``, no rounding, no +1, no minimum size), samples at the centres of
  the sub-bins, window ``[-1, H] x [-1, W]``, bin ``(i, j)`` in part
  ``(i * part_h // kh, j * part_w // kw)``.
  With no offsets it equals ``ps_roi_align(..., sampling_ratio=sample_per_part)`` wherever
  every sample lies inside the map (at the border ``ps_roi_align`` divides by all samples,
  this op by the valid ones).
- ``rule='mxnet'``, the kernel of Deformable-ConvNets (MXNet ``DeformablePSROIPooling``), for
  weights trained with it: RoI corners rounded (half away from zero) and ``x2, y2`` + 1
  before scaling, then shifted by -0.5; RoI sides at least 0.1; samples at the top-left
  corners of the sub-bins; window ``[-0.5, H - 0.5] x [-0.5, W - 0.5]``; part
  ``floor(i / kh * part_h)`` in floating point; a sample on an integer coordinate gives no
  offset gradient along it (the kernel interpolates between floor and ceil). The original
  reads garbage for NaN offsets; here such a sample is skipped.

``original`` is the deprecated alias of ``rule`` (True: ``'mxnet'``, False: ``'torchvision'``).

The compiled op (``torch.ops.mmdet_psroi.deform_ps_roi_pool``) carries its own autograd
(gradients to ``input`` and ``offset``; the map is kept for the backward only when the offsets
need a gradient) and meta kernels, registered in C++.
"""
import math
import numbers

import torch
from torch import nn

from .ps_roi import (
    DEFORM_RULES,
    NOT_GIVEN,
    RuleAlias,
    _check_inputs,
    check_spatial_scale,
    pair_output_size,
    resolve_rule,
)

_ops = torch.ops.mmdet_psroi
_NAME = 'deform_ps_roi_pool'


def _pair_part_size(part_size, output_size):
    """``None`` -> ``output_size`` (one part per bin); else an int or a pair of ints > 0."""
    if part_size is None:
        return pair_output_size(output_size)
    try:
        return pair_output_size(part_size)
    except ValueError:
        raise ValueError(f'part_size must be None, an int > 0 or a pair of ints > 0, '
                         f'got {part_size!r}') from None


def _check_sample_per_part(sample_per_part):
    if (not isinstance(sample_per_part, numbers.Integral) or isinstance(sample_per_part, bool)
            or sample_per_part < 1):
        raise ValueError(f'sample_per_part must be an int >= 1 (sample points per bin side), '
                         f'got {sample_per_part!r}')
    return int(sample_per_part)


def _check_trans_std(trans_std):
    if (not isinstance(trans_std, numbers.Real) or isinstance(trans_std, bool)
            or not math.isfinite(trans_std)):
        raise ValueError(f'trans_std must be a finite number, got {trans_std!r}')
    return float(trans_std)


def _check_offset(offset, rois, channels_out, part_size):
    shape_text = '(K, 2*G, part_h, part_w)'
    if not isinstance(offset, torch.Tensor):
        raise TypeError(f'{_NAME}: offset must be None or a tensor {shape_text}, '
                        f'got {type(offset).__name__}')
    if not offset.is_floating_point():
        raise TypeError(f'{_NAME}: offset must be a floating point tensor, got {offset.dtype}')
    if offset.dim() != 4:
        raise ValueError(f'{_NAME}: offset must be {shape_text}, got shape '
                         f'{tuple(offset.shape)}')
    num_rois, channels, parts_h, parts_w = offset.shape
    groups = channels // 2
    if num_rois != rois.size(0) or channels % 2 or groups == 0 or channels_out % groups:
        raise ValueError(
            f'{_NAME}: offset must have shape {shape_text} with K = {rois.size(0)} RoIs and '
            f'G >= 1 groups dividing the {channels_out} output channels, '
            f'got {tuple(offset.shape)}')
    if (parts_h, parts_w) != part_size:
        raise ValueError(f'{_NAME}: offset parts {(parts_h, parts_w)} do not match '
                         f'part_size={part_size} (None: output_size); pass '
                         f'part_size={(parts_h, parts_w)}')
    if offset.device != rois.device:
        raise ValueError(f'{_NAME}: offset is on {offset.device} but rois are on '
                         f'{rois.device}; all must be on the same device')


@torch.fx.wrap
def deform_ps_roi_pool(input, rois, offset=None, output_size=7, spatial_scale=1.0,
                       part_size=None, sample_per_part=4, trans_std=0.1, rule='torchvision', *,
                       original=NOT_GIVEN):
    """Deformable PS RoI pooling; see the module docstring for the arithmetic.

    Args:
        input (Tensor): ``(N, C_out*kh*kw, H, W)`` score maps (float, double, half, bfloat16).
        rois (Tensor | list[Tensor]): ``(K, 5)`` rois ``(batch_index, x1, y1, x2, y2)`` or a
            list of ``(L_i, 4)`` boxes, any floating dtype (float32 with a half/bfloat16 map:
            read in the accumulation type), on ``input``'s device.
        offset (Tensor | None): ``(K, 2*G, part_h, part_w)`` normalised offsets, ``G`` groups
            dividing ``C_out`` (1: shared by all channels; ``C_out``: one per channel), or
            ``None`` for no offsets (the offset branch's own pooling).
        output_size (int | tuple[int, int]): ``k`` or ``(kh, kw)``.
        spatial_scale (float): image coordinates -> map coordinates (e.g. 1/16).
        part_size (int | tuple[int, int] | None): offset parts per side, which ``offset``
            must have; ``None``: ``output_size`` (one part per bin, as Deformable-ConvNets'
            ``part_size=0``).
        sample_per_part (int): sample points per bin side.
        trans_std (float): scale of the offsets (bin shift = offset * trans_std * RoI size).
        rule (str): ``'torchvision'`` (``ps_roi_align``'s sample placement) or ``'mxnet'``
            (Deformable-ConvNets'), see the module docstring.
        original (bool): deprecated alias of ``rule`` (True: ``'mxnet'``).

    Returns:
        Tensor: ``(K, C_out, kh, kw)`` in ``input``'s dtype, differentiable with respect to
        ``input`` and ``offset``. A RoI with a non-finite coordinate pools 0.
    """
    rois, (kh, kw) = _check_inputs(_NAME, input, rois, output_size)
    spatial_scale = check_spatial_scale(spatial_scale)
    part = _pair_part_size(part_size, (kh, kw))
    sample_per_part = _check_sample_per_part(sample_per_part)
    trans_std = _check_trans_std(trans_std)
    rule = resolve_rule(rule, original, DEFORM_RULES)
    if offset is None:
        offset = rois.new_zeros((rois.size(0), 0) + part)
    else:
        _check_offset(offset, rois, input.size(1) // (kh * kw), part)
    return _ops.deform_ps_roi_pool(input, rois, offset, spatial_scale, kh, kw, sample_per_part,
                                   trans_std, rule == 'mxnet')


class DeformPSRoIPool(RuleAlias, nn.Module):
    """Deformable PS RoI pooling, see :func:`deform_ps_roi_pool`.

    ``forward(input, rois, offset=None)``: ``(N, C_out*kh*kw, H, W)``, ``(K, 5)`` rois (or a
    list of ``(L_i, 4)`` boxes) and ``(K, 2*G, part_h, part_w)`` or ``None`` ->
    ``(K, C_out, kh, kw)``. ``part_size`` (``None``: ``output_size``) is resolved at
    construction, so that the layer that predicts the offsets can be sized from it.
    ``original`` is the deprecated alias of ``rule`` (True: ``'mxnet'``).
    """

    RULES = DEFORM_RULES

    def __init__(self, output_size, spatial_scale=1.0, part_size=None, sample_per_part=4,
                 trans_std=0.1, rule='torchvision', *, original=NOT_GIVEN):
        super().__init__()
        self.output_size = pair_output_size(output_size)
        self.spatial_scale = check_spatial_scale(spatial_scale)
        self.part_size = _pair_part_size(part_size, self.output_size)
        self.sample_per_part = _check_sample_per_part(sample_per_part)
        self.trans_std = _check_trans_std(trans_std)
        self.rule = resolve_rule(rule, original, self.RULES)

    def forward(self, input, rois, offset=None):
        return deform_ps_roi_pool(input, rois, offset, self.output_size, self.spatial_scale,
                                  self.part_size, self.sample_per_part, self.trans_std,
                                  self.rule)

    def extra_repr(self):
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'part_size={self.part_size}, sample_per_part={self.sample_per_part}, '
                f'trans_std={self.trans_std}, rule={self.rule!r}')
