"""The steps of the test-time graph that PyTorch's TorchScript ONNX exporter cannot trace with
dynamic shapes, or would trace to other semantics: each is an ``autograd.Function`` whose
forward computes what mmdet/mmcv compute and whose ``symbolic`` emits standard ONNX operators
that compute the same.

- :func:`top_k`: the ``k`` highest scores, ``k`` capped by the (dynamic) count (``TopK``).
- :func:`nms_keep`: greedy NMS of one class (``NonMaxSuppression``).
- :func:`roi_align`: mmcv's ``RoIAlign`` (``RoiAlign``, opset >= 16).
- :func:`pad_to_multiple`: right/bottom padding to a multiple of a divisor (``Pad``).
- :func:`max_or_neg_inf`: the maximum of a tensor, -inf when it is empty (``ReduceMax``).
"""
from typing import Tuple

import torch
from torch import Tensor
from torch.autograd import Function

ROI_ALIGN_MIN_OPSET = 16


def _const(g, value, dtype=torch.int64):
    return g.op('Constant', value_t=torch.tensor(value, dtype=dtype))


def _dim(g, x, axis):
    """``x.shape[axis]`` as a 1-element int64 tensor of the graph."""
    return g.op('Gather', g.op('Shape', x), _const(g, [axis]), axis_i=0)


class _TopK(Function):

    @staticmethod
    def forward(ctx, scores: Tensor, k: int) -> Tuple[Tensor, Tensor]:
        # a stable descending sort: equal scores keep their order (ONNX TopK's tie rule)
        values, indices = scores.sort(descending=True, stable=True)
        return values[:k], indices[:k]

    @staticmethod
    def symbolic(g, scores, k):
        count = g.op('Min', _dim(g, scores, 0), _const(g, [k]))
        return g.op('TopK', scores, count, axis_i=0, largest_i=1, sorted_i=1, outputs=2)


def top_k(scores: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """``(N,)`` scores -> the ``min(k, N)`` highest, descending, and their indices; equal
    scores in index order."""
    return _TopK.apply(scores, k)


class _NMSKeep(Function):

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, iou_threshold: float,
                max_num: int) -> Tensor:
        from mmcv.ops import nms

        # visit the boxes by descending score, equal scores by index (NonMaxSuppression's
        # order; mmcv's own sort is not stable): mmcv's NMS of the boxes in that order
        order = scores.sort(descending=True, stable=True)[1]
        ranks = torch.arange(order.shape[0], 0, -1, dtype=torch.float32, device=boxes.device)
        keep = order[nms(boxes[order], ranks, iou_threshold)[1]]
        return keep[:max_num] if max_num > 0 else keep

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold, max_num):
        boxes = g.op('Unsqueeze', boxes, _const(g, [0]))
        scores = g.op('Unsqueeze', scores, _const(g, [0, 1]))
        # 0 would select nothing: "no limit" is the number of boxes
        limit = _const(g, [max_num]) if max_num > 0 else _dim(g, boxes, 1)
        selected = g.op('NonMaxSuppression', boxes, scores, limit,
                        _const(g, [iou_threshold], torch.float32), center_point_box_i=0)
        return g.op('Gather', selected, _const(g, 2), axis_i=1)


def nms_keep(boxes: Tensor, scores: Tensor, iou_threshold: float, max_num: int = -1) -> Tensor:
    """mmcv's ``nms``: ``(N, 4)`` x1y1x2y2 boxes, ``(N,)`` scores -> indices of the kept boxes
    (at most ``max_num`` if > 0), by descending score. A box is suppressed by a kept one of
    higher score when their IoU is > ``iou_threshold``. Boxes of equal score are visited by
    index (ONNX Runtime's rule); mmcv's unstable sort may visit them in another order, which
    changes the result only where two boxes of bitwise-equal score overlap."""
    return _NMSKeep.apply(boxes, scores, float(iou_threshold), int(max_num))


class _RoIAlign(Function):

    @staticmethod
    def forward(ctx, input: Tensor, rois: Tensor, output_size: Tuple[int, int],
                spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
        from mmcv.ops import roi_align

        return roi_align(input, rois, output_size, spatial_scale, sampling_ratio, 'avg',
                         aligned)

    @staticmethod
    def symbolic(g, input, rois, output_size, spatial_scale, sampling_ratio, aligned):
        batch_indices = g.op('Cast', g.op('Gather', rois, _const(g, 0), axis_i=1),
                             to_i=7)  # int64
        boxes = g.op('Slice', rois, _const(g, [1]), _const(g, [5]), _const(g, [1]))
        return g.op('RoiAlign', input, boxes, batch_indices,
                    coordinate_transformation_mode_s='half_pixel' if aligned
                    else 'output_half_pixel',
                    mode_s='avg', output_height_i=output_size[0],
                    output_width_i=output_size[1], sampling_ratio_i=max(sampling_ratio, 0),
                    spatial_scale_f=spatial_scale)


def roi_align(input: Tensor, rois: Tensor, output_size: Tuple[int, int], spatial_scale: float,
              sampling_ratio: int, aligned: bool) -> Tensor:
    """mmcv's ``roi_align`` with ``pool_mode='avg'``: ``(N, C, H, W)`` and ``(K, 5)`` rois
    (batch index, x1, y1, x2, y2) -> ``(K, C, oh, ow)``. ``aligned=True`` is ONNX RoiAlign's
    ``half_pixel`` mode; ``sampling_ratio`` 0 is adaptive in both."""
    return _RoIAlign.apply(input, rois, tuple(output_size), float(spatial_scale),
                           int(sampling_ratio), bool(aligned))


class _PadToMultiple(Function):

    @staticmethod
    def forward(ctx, image: Tensor, divisor: int, value: float) -> Tensor:
        h, w = image.shape[-2:]
        return torch.nn.functional.pad(image, (0, -w % divisor, 0, -h % divisor), value=value)

    @staticmethod
    def symbolic(g, image, divisor, value):
        hw = g.op('Slice', g.op('Shape', image), _const(g, [2]), _const(g, [4]),
                  _const(g, [0]))
        divisor_ = _const(g, [divisor])
        # (-x) mod d for x >= 0, with ONNX Mod's sign rule avoided: (d - x mod d) mod d
        pad_hw = g.op('Mod', g.op('Sub', divisor_, g.op('Mod', hw, divisor_)), divisor_)
        pads = g.op('Concat', _const(g, [0, 0, 0, 0, 0, 0]), pad_hw, axis_i=0)
        return g.op('Pad', image, pads, _const(g, value, torch.float32), mode_s='constant')


def pad_to_multiple(image: Tensor, divisor: int, value: float = 0.) -> Tensor:
    """``(N, C, H, W)`` -> padded with ``value`` at the right and bottom to the next multiple
    of ``divisor`` (mmengine's ``stack_batch``)."""
    return _PadToMultiple.apply(image, int(divisor), float(value))


class _MaxOrNegInf(Function):

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        return x.max() if x.numel() else x.new_tensor(-float('inf'))

    @staticmethod
    def symbolic(g, x):
        # an empty ReduceMax is -inf (the ONNX rule from opset 18; ONNX Runtime's at 17 too)
        return g.op('ReduceMax', x, keepdims_i=0)


def max_or_neg_inf(x: Tensor) -> Tensor:
    """``x.max()`` as a 0-d tensor; ``-inf`` for an empty ``x`` (where ``x.max()`` raises)."""
    return _MaxOrNegInf.apply(x)
