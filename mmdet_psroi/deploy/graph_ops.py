"""The steps of the test-time graph that PyTorch's exporters cannot trace with dynamic shapes,
or would trace to other semantics. Each is an operator of the ``mmdet_psroi_graph`` library
(``torch.ops.mmdet_psroi_graph.*``, defined with ``torch.library``, so torch 2.1 has them too):
its kernel computes what mmdet/mmcv compute, and its ONNX form, written once below, is what both
of PyTorch's exporters emit: the TorchScript exporter through a symbolic registered at import,
the dynamo exporter through :func:`onnx_translation_table` (and, for its tracing, a fake kernel
that gives the output's shape: torch >= 2.4).

- :func:`top_k`: the ``k`` highest scores, ``k`` capped by the (dynamic) count (``TopK``).
- :func:`nms_keep`: greedy NMS of one class (``NonMaxSuppression``).
- :func:`roi_align`: mmcv's ``RoIAlign`` (``RoiAlign``, opset >= 16).
- :func:`pad_to_multiple`: right/bottom padding to a multiple of a divisor (``Pad``).

:func:`max_or_neg_inf` needs no operator of its own: its ONNX form is ``ReduceMax`` of a
tensor that is never empty (``Pad`` with one -inf).
"""
from typing import Tuple

import numpy as np
import torch
from torch import Tensor

ROI_ALIGN_MIN_OPSET = 16
OPSET = 17  # the opset the TorchScript symbolics are registered from
NAMESPACE = 'mmdet_psroi_graph'
_INT64, _FLOAT = np.int64, np.float32
MAX_KEPT_BOXES = 2**31 - 1

_LIBRARY = torch.library.Library(NAMESPACE, 'DEF')
_LIBRARY.define('top_k(Tensor scores, int k) -> (Tensor, Tensor)')
_LIBRARY.define('nms_keep(Tensor boxes, Tensor scores, float iou_threshold, int max_num) '
                '-> Tensor')
_LIBRARY.define('roi_align(Tensor input, Tensor rois, int output_height, int output_width, '
                'float spatial_scale, int sampling_ratio, bool aligned) -> Tensor')
_LIBRARY.define('pad_to_multiple(Tensor image, int divisor, float value) -> Tensor')


# --- kernels: what mmdet and mmcv compute ------------------------------------------------------

def _top_k_kernel(scores: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    # a stable descending sort: equal scores keep their order (ONNX TopK's tie rule)
    values, indices = scores.sort(descending=True, stable=True)
    return values[:k].clone(), indices[:k].clone()


def _nms_keep_kernel(boxes: Tensor, scores: Tensor, iou_threshold: float,
                     max_num: int) -> Tensor:
    from mmcv.ops import nms

    # visit the boxes by descending score, equal scores by index (NonMaxSuppression's order;
    # mmcv's own sort is not stable): mmcv's NMS of the boxes in that order
    order = scores.sort(descending=True, stable=True)[1]
    ranks = torch.arange(order.shape[0], 0, -1, dtype=torch.float32, device=boxes.device)
    keep = order[nms(boxes[order], ranks, iou_threshold)[1]]
    return keep[:max_num] if max_num > 0 else keep


def _roi_align_kernel(input: Tensor, rois: Tensor, output_height: int, output_width: int,
                      spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
    from mmcv.ops import roi_align

    return roi_align(input, rois, (output_height, output_width), spatial_scale,
                     sampling_ratio, 'avg', aligned)


def _pad_to_multiple_kernel(image: Tensor, divisor: int, value: float) -> Tensor:
    h, w = image.shape[-2:]
    return torch.nn.functional.pad(image, (0, -w % divisor, 0, -h % divisor), value=value)


# --- fake kernels: the output shapes, for the dynamo exporter's tracing ------------------------

def _top_k_fake(scores, k):
    count = torch.sym_min(k, scores.shape[0])
    return scores.new_empty(count), scores.new_empty(count, dtype=torch.long)


def _nms_keep_fake(boxes, scores, iou_threshold, max_num):
    # a bound on the count keeps the sums and products of the counts downstream (e.g. the
    # RoIs of the levels, concatenated) within int64 in the exported program's range checks
    count = torch.library.get_ctx().new_dynamic_size(max=MAX_KEPT_BOXES)
    return boxes.new_empty(count, dtype=torch.long)


def _roi_align_fake(input, rois, output_height, output_width, spatial_scale, sampling_ratio,
                    aligned):
    return input.new_empty(rois.shape[0], input.shape[1], output_height, output_width)


def _pad_to_multiple_fake(image, divisor, value):
    h, w = image.shape[-2:]
    return image.new_empty(*image.shape[:-2], h + (-h % divisor), w + (-w % divisor))


# --- the ONNX forms, for either exporter's emitter ---------------------------------------------

def _top_k_onnx(b, scores, k):
    count = b.op('Min', b.op('Shape', scores, start=0, end=1), b.const([k]))
    return b.op('TopK', scores, count, axis=0, largest=1, sorted=1, outputs=2)


def _nms_keep_onnx(b, boxes, scores, iou_threshold, max_num):
    boxes = b.op('Unsqueeze', boxes, b.const([0]))
    scores = b.op('Unsqueeze', scores, b.const([0, 1]))
    # 0 would select nothing: "no limit" is the number of boxes
    limit = b.const([max_num]) if max_num > 0 else b.op('Shape', boxes, start=1, end=2)
    selected = b.op('NonMaxSuppression', boxes, scores, limit,
                    b.const([iou_threshold], _FLOAT), center_point_box=0)
    return b.op('Gather', selected, b.const(2), axis=1)


def _roi_align_onnx(b, input, rois, output_height, output_width, spatial_scale, sampling_ratio,
                    aligned):
    batch_indices = b.op('Cast', b.op('Gather', rois, b.const(0), axis=1), to=7)  # int64
    boxes = b.op('Slice', rois, b.const([1]), b.const([5]), b.const([1]))
    return b.op('RoiAlign', input, boxes, batch_indices,
                coordinate_transformation_mode='half_pixel' if aligned
                else 'output_half_pixel',
                mode='avg', output_height=output_height, output_width=output_width,
                sampling_ratio=max(sampling_ratio, 0), spatial_scale=float(spatial_scale))


def _pad_to_multiple_onnx(b, image, divisor, value):
    hw = b.op('Shape', image, start=2, end=4)
    divisor_ = b.const([divisor])
    # (-x) mod d for x >= 0, with ONNX Mod's sign rule avoided: (d - x mod d) mod d
    pad_hw = b.op('Mod', b.op('Sub', divisor_, b.op('Mod', hw, divisor_)), divisor_)
    pads = b.op('Concat', b.const([0, 0, 0, 0, 0, 0]), pad_hw, axis=0)
    return b.op('Pad', image, pads, b.const(value, _FLOAT), mode='constant')


# name -> (kernel, fake kernel, ONNX form, the kinds of the non-tensor arguments)
_OPS = {
    'top_k': (_top_k_kernel, _top_k_fake, _top_k_onnx, ('v', 'i')),
    'nms_keep': (_nms_keep_kernel, _nms_keep_fake, _nms_keep_onnx, ('v', 'v', 'f', 'i')),
    'roi_align': (_roi_align_kernel, _roi_align_fake, _roi_align_onnx,
                  ('v', 'v', 'i', 'i', 'f', 'i', 'b')),
    'pad_to_multiple': (_pad_to_multiple_kernel, _pad_to_multiple_fake, _pad_to_multiple_onnx,
                        ('v', 'i', 'f')),
}


class _TorchScriptBuilder:
    def __init__(self, g):
        self.g = g

    def op(self, op_type, *inputs, outputs=1, **attributes):
        typed = {f'{key}_{_attribute_kind(value)}': value for key, value in attributes.items()}
        return self.g.op(op_type, *inputs, outputs=outputs, **typed)

    def const(self, values, dtype=_INT64):
        return self.g.op('Constant', value_t=torch.from_numpy(np.array(values, dtype=dtype)))


def _attribute_kind(value):
    return 'f' if isinstance(value, float) else 's' if isinstance(value, str) else 'i'


class _OnnxscriptBuilder:
    def __init__(self):
        from onnxscript import opset18

        self.opset = opset18

    def op(self, op_type, *inputs, outputs=1, **attributes):
        return getattr(self.opset, op_type)(*inputs, **attributes)

    def const(self, values, dtype=_INT64):
        import onnx_ir

        return self.opset.Constant(value=onnx_ir.tensor(np.array(values, dtype=dtype)))


def _register() -> None:
    register_fake = getattr(torch.library, 'register_fake', None)  # torch >= 2.4
    register_symbolic = getattr(torch.onnx, 'register_custom_op_symbolic', None)
    for name, (kernel, fake, onnx_form, kinds) in _OPS.items():
        _LIBRARY.impl(name, kernel, 'CompositeExplicitAutograd')
        if register_fake is not None:
            register_fake(f'{NAMESPACE}::{name}', fake, lib=_LIBRARY)
        if register_symbolic is not None:
            register_symbolic(f'{NAMESPACE}::{name}', _torchscript_symbolic(onnx_form, kinds),
                              OPSET)


def _torchscript_symbolic(onnx_form, kinds):
    """The TorchScript symbolic of ``onnx_form``: the non-tensor arguments (``kinds`` other
    than 'v') read as the Python constants they are."""
    from torch.onnx import symbolic_helper

    def symbolic(g, *args):
        args = [arg if kind == 'v' else symbolic_helper._get_const(arg, kind, 'argument')
                for arg, kind in zip(args, kinds)]
        return onnx_form(_TorchScriptBuilder(g), *args)

    return symbolic


_register()


def onnx_translation_table() -> dict:
    """The dynamo exporter's translations of these operators, for ``torch.onnx.export(...,
    dynamo=True, custom_translation_table=...)`` (with the ops' own,
    ``mmdet_psroi.ops.onnx_translation_table()``)."""
    ops = getattr(torch.ops, NAMESPACE)
    return {getattr(ops, name).default:
            (lambda *args, _form=onnx_form: _form(_OnnxscriptBuilder(), *args))
            for name, (_, _, onnx_form, _) in _OPS.items()}


# --- the functions the graph calls -------------------------------------------------------------

def top_k(scores: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """``(N,)`` scores -> the ``min(k, N)`` highest, descending, and their indices; equal
    scores in index order."""
    return torch.ops.mmdet_psroi_graph.top_k(scores, int(k))


def nms_keep(boxes: Tensor, scores: Tensor, iou_threshold: float, max_num: int = -1) -> Tensor:
    """mmcv's ``nms``: ``(N, 4)`` x1y1x2y2 boxes, ``(N,)`` scores -> indices of the kept boxes
    (at most ``max_num`` if > 0), by descending score. A box is suppressed by a kept one of
    higher score when their IoU is > ``iou_threshold``. Boxes of equal score are visited by
    index (ONNX Runtime's rule); mmcv's unstable sort may visit them in another order, which
    changes the result only where two boxes of bitwise-equal score overlap."""
    return torch.ops.mmdet_psroi_graph.nms_keep(boxes, scores, float(iou_threshold),
                                                int(max_num))


def roi_align(input: Tensor, rois: Tensor, output_size: Tuple[int, int], spatial_scale: float,
              sampling_ratio: int, aligned: bool) -> Tensor:
    """mmcv's ``roi_align`` with ``pool_mode='avg'``: ``(N, C, H, W)`` and ``(K, 5)`` rois
    (batch index, x1, y1, x2, y2) -> ``(K, C, oh, ow)``. ``aligned=True`` is ONNX RoiAlign's
    ``half_pixel`` mode; ``sampling_ratio`` 0 is adaptive in both."""
    output_height, output_width = output_size
    return torch.ops.mmdet_psroi_graph.roi_align(input, rois, int(output_height),
                                                 int(output_width), float(spatial_scale),
                                                 int(sampling_ratio), bool(aligned))


def pad_to_multiple(image: Tensor, divisor: int, value: float = 0.) -> Tensor:
    """``(N, C, H, W)`` -> padded with ``value`` at the right and bottom to the next multiple
    of ``divisor`` (mmengine's ``stack_batch``)."""
    return torch.ops.mmdet_psroi_graph.pad_to_multiple(image, int(divisor), float(value))


def max_or_neg_inf(x: Tensor) -> Tensor:
    """``x.max()`` as a 0-d tensor; ``-inf`` for an empty ``x`` (where ``x.max()`` raises)."""
    return torch.nn.functional.pad(x.reshape(-1), (0, 1), value=-float('inf')).max()
