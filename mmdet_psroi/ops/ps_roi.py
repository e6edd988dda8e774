"""Functional PS RoI Pool / PS RoI Align with torchvision's calling convention.

Shapes: ``input`` ``(N, C_out*kh*kw, H, W)``; ``rois`` ``(K, 5)`` rows
``(batch_index, x1, y1, x2, y2)`` in image coordinates (mmdet's ``bbox2roi`` format) or a
list of ``(L_i, 4)`` boxes, one tensor per image; output ``(K, C_out, kh, kw)``, where output
bin ``(c, i, j)`` reads only input channel ``(c*kh + i)*kw + j``.

The compiled ops (``torch.ops.mmdet_psroi.*``) get their autograd formula and their fake
(meta) implementation here, once, so ``torch.compile(fullgraph=True)`` and ``torch.export``
can trace code that calls them.
"""
import math
import numbers

import torch

_ops = torch.ops.mmdet_psroi
MAX_ADAPTIVE_GRID = 1 << 16  # kMaxAdaptiveGrid in csrc/common/ps_roi_math.h


def pair_output_size(output_size):
    """``7 -> (7, 7)``; ``(7, 5) -> (7, 5)``. Raises ValueError unless both are ints > 0."""
    if isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool):
        size = (int(output_size), int(output_size))
    elif (isinstance(output_size, (tuple, list)) and len(output_size) == 2
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                  for v in output_size)):
        size = (int(output_size[0]), int(output_size[1]))
    else:
        raise ValueError(f'output_size must be an int or a pair of ints (kh, kw), '
                         f'got {output_size!r}')
    if min(size) <= 0:
        raise ValueError(f'output_size must be positive, got {output_size!r}')
    return size


def check_spatial_scale(spatial_scale):
    """Returns ``spatial_scale`` as a float; raises ValueError unless it is finite and > 0."""
    if not isinstance(spatial_scale, numbers.Real) or isinstance(spatial_scale, bool):
        raise ValueError(f'spatial_scale must be a positive number, got {spatial_scale!r}')
    if not (math.isfinite(spatial_scale) and spatial_scale > 0):
        raise ValueError(f'spatial_scale must be finite and > 0, got {spatial_scale!r}')
    return float(spatial_scale)


def check_sampling_ratio(sampling_ratio):
    """Returns ``sampling_ratio``; raises ValueError unless it is an int >= -1."""
    if (not isinstance(sampling_ratio, numbers.Integral) or isinstance(sampling_ratio, bool)
            or sampling_ratio < -1):
        raise ValueError('sampling_ratio must be an int >= -1 (-1 or 0: adaptive, '
                         f'ceil(roi_size / output_size) points per bin side), '
                         f'got {sampling_ratio!r}')
    return int(sampling_ratio)


def _boxes_to_rois(boxes, input):
    """A list of ``(L_i, 4)`` box tensors, one per image -> ``(sum L_i, 5)`` rois."""
    rois = []
    for index, box in enumerate(boxes):
        if not isinstance(box, torch.Tensor) or box.dim() != 2 or box.size(1) != 4:
            shape = tuple(box.shape) if isinstance(box, torch.Tensor) else type(box).__name__
            raise ValueError(f'rois[{index}] must be a (L, 4) tensor of boxes of image '
                             f'{index}, got {shape}')
        rois.append(torch.cat([box.new_full((box.size(0), 1), index), box], dim=1))
    if not rois:
        return input.new_zeros((0, 5))
    return torch.cat(rois, dim=0)


def _is_traced(*tensors):
    if torch.compiler.is_compiling():
        return True
    return any(t.device.type == 'meta' or isinstance(t, torch._subclasses.FakeTensor)
               for t in tensors)


def _check_inputs(name, input, rois, output_size):
    """Validates the shared arguments; returns ``(rois as (K, 5), (kh, kw))``."""
    kh, kw = pair_output_size(output_size)
    if not isinstance(input, torch.Tensor):
        raise TypeError(f'{name}: input must be a tensor, got {type(input).__name__}')
    if input.dim() != 4:
        raise ValueError(f'{name}: input must be 4-D (N, C, H, W), got shape '
                         f'{tuple(input.shape)}')
    if not input.is_floating_point():
        raise TypeError(f'{name}: input must be a floating point tensor, got {input.dtype}')
    if input.size(1) % (kh * kw) != 0:
        raise ValueError(f'{name}: input channels ({input.size(1)}) must be divisible by '
                         f'kh*kw = {kh}*{kw} = {kh * kw} (output_size={output_size!r})')
    if isinstance(rois, (list, tuple)):
        rois = _boxes_to_rois(rois, input)
    if not isinstance(rois, torch.Tensor):
        raise TypeError(f'{name}: rois must be a (K, 5) tensor or a list of (L, 4) tensors, '
                        f'got {type(rois).__name__}')
    if rois.dim() != 2 or rois.size(1) != 5:
        raise ValueError(f'{name}: rois must have shape (K, 5) = (batch_index, x1, y1, x2, y2), '
                         f'got {tuple(rois.shape)}')
    if rois.dtype != input.dtype:
        raise TypeError(f'{name}: rois dtype ({rois.dtype}) must match input dtype '
                        f'({input.dtype})')
    if rois.device != input.device:
        raise ValueError(f'{name}: rois are on {rois.device} but input is on {input.device}; '
                         'both must be on the same device')
    if rois.size(0) and not _is_traced(input, rois):
        batch = rois[:, 0]
        bad = ~((batch >= 0) & (batch < input.size(0))) & torch.isfinite(batch)
        if bool(bad.any()):
            index = int(bad.nonzero()[0, 0])
            raise ValueError(f'{name}: rois[{index}, 0] = {float(batch[index])} is not a batch '
                             f'index of input (expected 0 <= index < {input.size(0)})')
    return rois, (kh, kw)


def ps_roi_pool(input, rois, output_size, spatial_scale=1.0):
    """Position-sensitive RoI average pooling with quantised bins (R-FCN's PSRoIPool).

    Args:
        input (Tensor): ``(N, C_out*kh*kw, H, W)`` score maps.
        rois (Tensor | list[Tensor]): ``(K, 5)`` rois or a list of ``(L_i, 4)`` boxes.
        output_size (int | tuple[int, int]): ``k`` or ``(kh, kw)``.
        spatial_scale (float): image coordinates -> map coordinates (e.g. 1/16).

    Returns:
        Tensor: ``(K, C_out, kh, kw)``; bins are averages over the quantised, clipped
        rectangle, 0 when it is empty. A RoI with a non-finite coordinate pools 0.
    """
    rois, (kh, kw) = _check_inputs('ps_roi_pool', input, rois, output_size)
    return _ops.ps_roi_pool(input, rois, check_spatial_scale(spatial_scale), kh, kw)


def ps_roi_align(input, rois, output_size, spatial_scale=1.0, sampling_ratio=-1):
    """Position-sensitive RoI Align (bilinear sampling, torchvision's half-pixel offset).

    Args:
        input (Tensor): ``(N, C_out*kh*kw, H, W)`` score maps.
        rois (Tensor | list[Tensor]): ``(K, 5)`` rois or a list of ``(L_i, 4)`` boxes.
        output_size (int | tuple[int, int]): ``k`` or ``(kh, kw)``.
        spatial_scale (float): image coordinates -> map coordinates (e.g. 1/16).
        sampling_ratio (int): sample points per bin side; -1 (or 0): adaptive,
            ``ceil(roi_size / output_size)``.

    Returns:
        Tensor: ``(K, C_out, kh, kw)``, the mean of the bilinear samples of each bin.
    """
    rois, (kh, kw) = _check_inputs('ps_roi_align', input, rois, output_size)
    spatial_scale = check_spatial_scale(spatial_scale)
    sampling_ratio = check_sampling_ratio(sampling_ratio)
    if sampling_ratio <= 0 and rois.size(0) and not _is_traced(input, rois):
        _check_adaptive_grid(rois, (kh, kw), spatial_scale)
    return _ops.ps_roi_align(input, rois, spatial_scale, kh, kw, sampling_ratio)


def _check_adaptive_grid(rois, output_size, spatial_scale):
    """Refuses RoIs whose adaptive sampling grid would take ages (the kernels' limit)."""
    sizes = (rois[:, 3:5] - rois[:, 1:3]).double() * spatial_scale
    grid = (sizes / sizes.new_tensor(output_size[::-1])).ceil()
    too_large = (grid > MAX_ADAPTIVE_GRID) & torch.isfinite(grid)
    if bool(too_large.any()):
        index = int(too_large.nonzero()[0, 0])
        raise ValueError(
            f'ps_roi_align: rois[{index}] = {rois[index].tolist()} needs more than '
            f'{MAX_ADAPTIVE_GRID} sampling points per bin side with sampling_ratio=-1; pass a '
            'positive sampling_ratio or clip the RoIs to the image')


# --------------------------------------------------------------------------------------
# Fake (meta) implementations: output shapes for tracing.
# --------------------------------------------------------------------------------------
def _pooled_shape(input, rois, pooled_height, pooled_width):
    return (rois.size(0), input.size(1) // (pooled_height * pooled_width), pooled_height,
            pooled_width)


@torch.library.register_fake('mmdet_psroi::ps_roi_pool')
def _ps_roi_pool_fake(input, rois, spatial_scale, pooled_height, pooled_width):
    return input.new_empty(_pooled_shape(input, rois, pooled_height, pooled_width))


@torch.library.register_fake('mmdet_psroi::ps_roi_align')
def _ps_roi_align_fake(input, rois, spatial_scale, pooled_height, pooled_width,
                       sampling_ratio):
    return input.new_empty(_pooled_shape(input, rois, pooled_height, pooled_width))


def _grad_input_fake(grad, rois, *args):
    batch, channels, height, width = args[-4:]
    return grad.new_empty((batch, channels, height, width))


torch.library.register_fake('mmdet_psroi::ps_roi_pool_backward')(_grad_input_fake)
torch.library.register_fake('mmdet_psroi::ps_roi_align_backward')(_grad_input_fake)


# --------------------------------------------------------------------------------------
# Autograd: gradient with respect to input only (none for rois or the scalars).
# --------------------------------------------------------------------------------------
def _setup_context(ctx, inputs, output):
    input, rois, *params = inputs
    ctx.save_for_backward(rois)
    ctx.params = params
    ctx.input_shape = tuple(input.shape)


def _make_backward(backward_op):
    def backward(ctx, grad):
        (rois,) = ctx.saved_tensors
        grad_input = backward_op(grad.contiguous(), rois, *ctx.params, *ctx.input_shape)
        return (grad_input, None) + (None,) * len(ctx.params)

    return backward


torch.library.register_autograd('mmdet_psroi::ps_roi_pool',
                                _make_backward(_ops.ps_roi_pool_backward),
                                setup_context=_setup_context)
torch.library.register_autograd('mmdet_psroi::ps_roi_align',
                                _make_backward(_ops.ps_roi_align_backward),
                                setup_context=_setup_context)
