"""Deformable position-sensitive RoI pooling (Deformable R-FCN, Dai et al. 2017).

Shapes: ``input`` ``(N, C_out*kh*kw, H, W)``; ``rois`` ``(K, 5)`` rows
``(batch_index, x1, y1, x2, y2)`` in image coordinates; ``offset`` ``(K, 2*G, ph, pw)`` or
``None``; output ``(K, C_out, kh, kw)``. Output bin ``(c, i, j)`` reads input channel
``(c*kh + i)*kw + j`` (as :func:`~mmdet_psroi.ops.ps_roi_align`), sampled at
``sample_per_part**2`` bilinear points of its bin, moved by
``(offset_x * trans_std * roi_width, offset_y * trans_std * roi_height)`` where the offsets are
those of group ``c // (C_out // G)`` (channels ``2g``: x, ``2g + 1``: y) and part
``(i * ph // kh, j * pw // kw)``. Samples outside ``[-1, H] x [-1, W]`` are skipped and the
others averaged (0 when none is left).

Coordinates are those of ``ps_roi_align`` (continuous, half-pixel offset, samples at the
centres of a regular grid), so with zero offsets (or none) it equals
``ps_roi_align(..., sampling_ratio=sample_per_part)`` wherever every sample lies inside the
map; at the border ``ps_roi_align`` divides by all samples, this op by the valid ones. The
MXNet ``DeformablePSROIPooling`` layer instead rounds the RoI corners, adds 1 to ``x2, y2``,
shifts by -0.5, samples at the top-left corner of each sub-bin and keeps samples inside
``[-0.5, W - 0.5]``: its outputs differ by up to a pixel's shift.

The compiled op (``torch.ops.mmdet_psroi.deform_ps_roi_pool``) carries its own autograd
(gradients to ``input`` and ``offset``) and meta kernels, registered in C++.
"""
import math
import numbers

import torch
from torch import nn

from .ps_roi import check_spatial_scale, pair_output_size

_ops = torch.ops.mmdet_psroi


def _pair_part_size(part_size, output_size):
    if part_size is None:
        return output_size
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


def _check_tensor(name, value, dim, shape_text):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f'deform_ps_roi_pool: {name} must be a tensor {shape_text}, '
                        f'got {type(value).__name__}')
    if not value.is_floating_point():
        raise TypeError(f'deform_ps_roi_pool: {name} must be a floating point tensor, '
                        f'got {value.dtype}')
    if value.dim() != dim:
        raise ValueError(f'deform_ps_roi_pool: {name} must be {shape_text}, '
                         f'got shape {tuple(value.shape)}')


def _check_offset(offset, rois, channels_out, part_size, part_size_given):
    _check_tensor('offset', offset, 4, '(K, 2*G, part_h, part_w)')
    num_rois, channels, parts_h, parts_w = offset.shape
    groups = channels // 2
    if num_rois != rois.size(0) or channels % 2 or groups == 0 or channels_out % groups:
        raise ValueError(
            f'deform_ps_roi_pool: offset must have shape (K, 2*G, part_h, part_w) with '
            f'K = {rois.size(0)} RoIs and G >= 1 groups dividing the {channels_out} output '
            f'channels, got {tuple(offset.shape)}')
    if part_size_given and (parts_h, parts_w) != part_size:
        raise ValueError(f'deform_ps_roi_pool: offset parts {(parts_h, parts_w)} do not match '
                         f'part_size={part_size}')
    if offset.device != rois.device:
        raise ValueError(f'deform_ps_roi_pool: offset is on {offset.device} but rois are on '
                         f'{rois.device}; all must be on the same device')


@torch.fx.wrap
def deform_ps_roi_pool(input, rois, offset=None, output_size=7, spatial_scale=1.0,
                       part_size=None, sample_per_part=4, trans_std=0.1):
    """Deformable PS RoI pooling; see the module docstring for the arithmetic.

    Args:
        input (Tensor): ``(N, C_out*kh*kw, H, W)`` score maps (float, double, half, bfloat16).
        rois (Tensor): ``(K, 5)`` rois ``(batch_index, x1, y1, x2, y2)``; any floating dtype
            (kept in float32 or better for half/bfloat16 maps: read in the accumulation type).
        offset (Tensor | None): ``(K, 2*G, part_h, part_w)`` normalised offsets, ``G`` groups
            dividing ``C_out`` (1: shared by all channels; ``C_out``: one per channel), or
            ``None`` for no offsets (the offset branch's own pooling).
        output_size (int | tuple[int, int]): ``k`` or ``(kh, kw)``.
        spatial_scale (float): image coordinates -> map coordinates (e.g. 1/16).
        part_size (int | tuple[int, int] | None): offset parts per side; ``None``: taken from
            ``offset`` (``output_size`` when there is none). When given, it must match.
        sample_per_part (int): sample points per bin side.
        trans_std (float): scale of the offsets (bin shift = offset * trans_std * RoI size).

    Returns:
        Tensor: ``(K, C_out, kh, kw)``, differentiable with respect to ``input`` and ``offset``.
    """
    kh, kw = pair_output_size(output_size)
    spatial_scale = check_spatial_scale(spatial_scale)
    sample_per_part = _check_sample_per_part(sample_per_part)
    trans_std = _check_trans_std(trans_std)
    part = _pair_part_size(part_size, (kh, kw))
    _check_tensor('input', input, 4, '(N, C, H, W)')
    _check_tensor('rois', rois, 2, '(K, 5) = (batch_index, x1, y1, x2, y2)')
    if rois.size(1) != 5:
        raise ValueError(f'deform_ps_roi_pool: rois must have shape (K, 5) = '
                         f'(batch_index, x1, y1, x2, y2), got {tuple(rois.shape)}')
    if input.size(1) % (kh * kw):
        raise ValueError(f'deform_ps_roi_pool: input channels ({input.size(1)}) must be '
                         f'divisible by kh*kw = {kh}*{kw} = {kh * kw} '
                         f'(output_size={output_size!r})')
    if rois.device != input.device:
        raise ValueError(f'deform_ps_roi_pool: rois are on {rois.device} but input is on '
                         f'{input.device}; all must be on the same device')
    if offset is None:
        offset = rois.new_zeros((rois.size(0), 0) + part)
    else:
        _check_offset(offset, rois, input.size(1) // (kh * kw), part, part_size is not None)
    return _ops.deform_ps_roi_pool(input, rois, offset, spatial_scale, kh, kw, sample_per_part,
                                   trans_std)


class DeformPSRoIPool(nn.Module):
    """Deformable PS RoI pooling, see :func:`deform_ps_roi_pool`.

    ``forward(input, rois, offset=None)``: ``(N, C_out*kh*kw, H, W)``, ``(K, 5)`` and
    ``(K, 2*G, part_h, part_w)`` or ``None`` -> ``(K, C_out, kh, kw)``.
    """

    def __init__(self, output_size, spatial_scale=1.0, part_size=None, sample_per_part=4,
                 trans_std=0.1):
        super().__init__()
        self.output_size = pair_output_size(output_size)
        self.spatial_scale = check_spatial_scale(spatial_scale)
        self.part_size = _pair_part_size(part_size, self.output_size)
        self.sample_per_part = _check_sample_per_part(sample_per_part)
        self.trans_std = _check_trans_std(trans_std)

    def forward(self, input, rois, offset=None):
        return deform_ps_roi_pool(input, rois, offset, self.output_size, self.spatial_scale,
                                  self.part_size, self.sample_per_part, self.trans_std)

    def extra_repr(self):
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'part_size={self.part_size}, sample_per_part={self.sample_per_part}, '
                f'trans_std={self.trans_std}')
