"""Functional PS RoI Pool / PS RoI Align with torchvision's calling convention.

Shapes: ``input`` ``(N, C_out*kh*kw, H, W)``; ``rois`` ``(K, 5)`` rows
``(batch_index, x1, y1, x2, y2)`` in image coordinates (mmdet's ``bbox2roi`` format) or a
list of ``(L_i, 4)`` boxes, one tensor per image; output ``(K, C_out, kh, kw)``, where output
bin ``(c, i, j)`` reads only input channel ``(c*kh + i)*kw + j``.

``rois`` may have any floating dtype, independent of ``input``'s: the kernels read them in the
accumulation type (float32 for float16/bfloat16/float32 maps, float64 for float64 maps), so
keep RoIs in float32 when the map is half or bfloat16 (AMP). The output has ``input``'s dtype.
Under ``torch.autocast`` the ops run in the dtype of the map they are given (no cast).

The compiled ops (``torch.ops.mmdet_psroi.*``) carry their autograd formula and their meta
(fake) kernels in C++, so ``torch.compile(fullgraph=True)`` and ``torch.export`` trace them on
every supported torch. The functions are ``torch.fx.wrap``-ped: ``torch.fx.symbolic_trace``
records them as single nodes. ``torch.jit.script`` is not supported.

Checks that read tensor values (batch indices in ``[0, N)``; adaptive sampling grids within
the kernels' limit) run for CPU tensors only: on CUDA they would synchronize the device on
every call. There the kernels stay safe instead: a RoI whose batch index is not one of
``input``'s pools 0, and an adaptive grid is clamped to ``MAX_ADAPTIVE_GRID`` points per side.
"""
import functools
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
    if not 0 < spatial_scale < math.inf:  # also False for NaN; traceable by dynamo
        raise ValueError(f'spatial_scale must be finite and > 0, got {spatial_scale!r}')
    return float(spatial_scale)


def check_original(original):
    """Returns ``original``; raises ValueError unless it is a bool."""
    if not isinstance(original, bool):
        raise ValueError('original must be True (the quantisation of R-FCN\'s original Caffe '
                         'layer) or False (torchvision\'s, the default), got '
                         f'{original!r}')
    return original


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


def _is_compiling():
    """``torch.compiler.is_compiling()`` (torch >= 2.3), else torch._dynamo's."""
    compiler = getattr(torch, 'compiler', None)
    if compiler is not None and hasattr(compiler, 'is_compiling'):
        return compiler.is_compiling()
    return torch._dynamo.is_compiling()


def _reads_values(input, rois):
    """Whether value checks may read ``rois`` back: CPU tensors with data, outside tracing."""
    if input.device.type != 'cpu' or _is_compiling():
        return False
    return not any(isinstance(t, torch._subclasses.FakeTensor) for t in (input, rois))


@functools.lru_cache(maxsize=None)
def _has_kernel(op_name, dispatch_key):
    return torch._C._dispatch_has_kernel_for_dispatch_key(f'mmdet_psroi::{op_name}',
                                                          dispatch_key)


def check_device_supported(op_name, device):
    """Raises RuntimeError naming the fix when the op was built without kernels for ``device``
    (e.g. a CUDA tensor given to a build made where no GPU was visible). Not checked while
    torch.compile traces (the dispatcher query is not traceable)."""
    if device.type == 'cuda' and not _is_compiling() and not _has_kernel(op_name, 'CUDA'):
        raise RuntimeError(
            f'{op_name}: got a CUDA tensor, but mmdet_psroi was built without CUDA kernels '
            '(no GPU or CUDA toolkit was seen at build time). Rebuild with a CUDA toolkit: '
            'FORCE_CUDA=1 pip install --no-build-isolation -e . (set TORCH_CUDA_ARCH_LIST, '
            'e.g. "8.0;9.0", when no GPU is visible).')


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
    if not rois.is_floating_point():
        raise TypeError(f'{name}: rois must be a floating point tensor (float32 recommended, '
                        f'whatever the dtype of input), got {rois.dtype}')
    if rois.device != input.device:
        raise ValueError(f'{name}: rois are on {rois.device} but input is on {input.device}; '
                         'both must be on the same device')
    check_device_supported(name, input.device)
    if input.size(0) == 0 and rois.size(0):
        raise ValueError(f'{name}: input has no images (N = 0) but rois has {rois.size(0)} '
                         'rows: every RoI needs a batch index of input')
    if _reads_values(input, rois) and rois.size(0):
        batch = rois[:, 0]
        bad = ~((batch >= 0) & (batch < input.size(0))) & torch.isfinite(batch)
        if bool(bad.any()):
            index = int(bad.nonzero()[0, 0])
            raise ValueError(f'{name}: rois[{index}, 0] = {float(batch[index])} is not a batch '
                             f'index of input (expected 0 <= index < {input.size(0)})')
    return rois, (kh, kw)


@torch.fx.wrap
def ps_roi_pool(input, rois, output_size, spatial_scale=1.0, original=False):
    """Position-sensitive RoI average pooling with quantised bins (R-FCN's PSRoIPool).

    Two rules quantise a RoI ``(x1, y1, x2, y2)`` and its bins, in map cells (``s`` the
    spatial scale, ``round`` halves away from zero, bins clipped to the map in both):

    * ``original=False`` (default), torchvision's ``ps_roi_pool``: the RoI spans
      ``round(x1 * s)`` to ``round(x2 * s)``, at least one cell; bin ``j`` spans
      ``floor(j * bin_w) + start`` to ``ceil((j + 1) * bin_w) + start``.
    * ``original=True``, R-FCN's original Caffe ``PSROIPooling`` layer: the RoI spans
      ``round(x1) * s`` to ``(round(x2) + 1) * s``, not rounded again, at least 0.1 cell; bin
      ``j`` spans ``floor(j * bin_w + start)`` to ``ceil((j + 1) * bin_w + start)``. Use it
      with weights converted from the original R-FCN models.

    Both compute the geometry in float32 (float64 for a float64 map), whatever the dtype of
    ``rois``.

    Args:
        input (Tensor): ``(N, C_out*kh*kw, H, W)`` score maps.
        rois (Tensor | list[Tensor]): ``(K, 5)`` rois or a list of ``(L_i, 4)`` boxes, any
            floating dtype (float32 with a half/bfloat16 map), on ``input``'s device.
        output_size (int | tuple[int, int]): ``k`` or ``(kh, kw)``.
        spatial_scale (float): image coordinates -> map coordinates (e.g. 1/16).
        original (bool): R-FCN's original quantisation instead of torchvision's (above).

    Returns:
        Tensor: ``(K, C_out, kh, kw)`` in ``input``'s dtype; bins are averages over the
        quantised, clipped rectangle, 0 when it is empty. A RoI with a non-finite coordinate
        pools 0; so does every RoI of a map with no pixels (H or W = 0).
    """
    rois, (kh, kw) = _check_inputs('ps_roi_pool', input, rois, output_size)
    return _ops.ps_roi_pool(input, rois, check_spatial_scale(spatial_scale), kh, kw,
                            check_original(original))


@torch.fx.wrap
def ps_roi_align(input, rois, output_size, spatial_scale=1.0, sampling_ratio=-1):
    """Position-sensitive RoI Align (bilinear sampling, torchvision's half-pixel offset).

    Args:
        input (Tensor): ``(N, C_out*kh*kw, H, W)`` score maps.
        rois (Tensor | list[Tensor]): ``(K, 5)`` rois or a list of ``(L_i, 4)`` boxes, any
            floating dtype (float32 with a half/bfloat16 map), on ``input``'s device.
        output_size (int | tuple[int, int]): ``k`` or ``(kh, kw)``.
        spatial_scale (float): image coordinates -> map coordinates (e.g. 1/16).
        sampling_ratio (int): sample points per bin side; -1 (or 0): adaptive,
            ``ceil(roi_size / output_size)``.

    Returns:
        Tensor: ``(K, C_out, kh, kw)`` in ``input``'s dtype, the mean of the bilinear
        samples of each bin; 0 for a RoI with a non-finite coordinate or on a map with no
        pixels (H or W = 0).
    """
    rois, (kh, kw) = _check_inputs('ps_roi_align', input, rois, output_size)
    spatial_scale = check_spatial_scale(spatial_scale)
    sampling_ratio = check_sampling_ratio(sampling_ratio)
    if sampling_ratio <= 0 and rois.size(0) and _reads_values(input, rois):
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
