"""ONNX export of the ops through standard operators (no custom domain).

TorchScript exporter (``torch.onnx.export(..., dynamo=False)``; the only one on torch 2.1): the
symbolics are registered when ``mmdet_psroi.ops`` is imported, as torchvision registers its
ops. Dynamo exporter (``torch.onnx.export(..., dynamo=True)``, torch >= 2.6 with onnxscript):
pass ``custom_translation_table=mmdet_psroi.ops.onnx_translation_table()``.

>>> import mmdet_psroi.ops
>>> torch.onnx.export(model, (image,), 'model.onnx', dynamo=True,
...                   custom_translation_table=mmdet_psroi.ops.onnx_translation_table(),
...                   dynamic_shapes=...)

The graphs are those of :mod:`mmdet_psroi.ops.onnx_graph`, for every rule of the ops
(``ps_roi_pool``'s ``'torchvision'`` and ``'caffe'``, ``deform_ps_roi_pool``'s
``'torchvision'`` and ``'mxnet'``). What cannot be exported raises :class:`OnnxExportError`
naming the argument: ``ps_roi_align`` with an adaptive ``sampling_ratio`` (<= 0), maps that are
not float32, or a channel count the traced graph does not know.
"""
import torch

from . import onnx_graph
from .ps_roi import DEFORM_RULES, POOL_RULES

OPSET = 17  # the opset the TorchScript symbolics are registered from
_TORCH_DTYPES = {onnx_graph.FLOAT: torch.float32, onnx_graph.INT64: torch.int64}


class OnnxExportError(ValueError):
    """An op call that the ONNX export cannot represent."""


def _check_export_args(name, channels, dtype_is_float32, kh, kw):
    if channels is None:
        raise OnnxExportError(f'{name}: the channel count of input is not known to the '
                              'exporter; it must be static (only N, H, W may be dynamic)')
    if not dtype_is_float32:
        raise OnnxExportError(f'{name}: only float32 maps export (the graphs compute in '
                              'float32); cast the model to float32 before exporting')
    if channels % (kh * kw):
        raise OnnxExportError(f'{name}: input channels ({channels}) must be divisible by '
                              f'kh*kw = {kh * kw}')


def _check_sampling_ratio(sampling_ratio):
    if sampling_ratio <= 0:
        raise OnnxExportError(
            f'ps_roi_align: sampling_ratio={sampling_ratio} (adaptive: ceil(roi_size / '
            'output_size) points per bin side, a number that depends on each RoI) has no '
            'static ONNX form; export with a fixed sampling_ratio > 0 (config key '
            'roi_layer.sampling_ratio, e.g. 2)')


def _rule(original, rules):
    """The rule that the op's ``original`` argument names (``rules[1]`` when set)."""
    return rules[1] if original else rules[0]


def _deform_groups(offset_shape, num_parts):
    """``(groups, parts)`` of an offset of shape ``(K, 2*G, ph, pw)`` (``G = 0``: no offsets)."""
    channels, parts_h, parts_w = offset_shape[1:]
    if None in (channels, parts_h, parts_w):
        raise OnnxExportError('deform_ps_roi_pool: the offset channels and parts must be '
                              f'static to export, got shape {offset_shape}')
    return channels // 2, (parts_h, parts_w) if channels else num_parts


# --- TorchScript exporter ---------------------------------------------------------------------

class _TorchScriptEmitter(onnx_graph.Emitter):
    def __init__(self, g):
        self.g = g

    def emit(self, op_type, *inputs, **attributes):
        typed = {f'{key}_{"f" if isinstance(value, float) else "i"}': value
                 for key, value in attributes.items()}
        return self.g.op(op_type, *inputs, **typed)

    def constant(self, values, dtype):
        return self.g.op('Constant', value_t=torch.tensor(values, dtype=_TORCH_DTYPES[dtype]))


def _ts_input_info(value):
    """(static sizes with None for dynamic ones, whether float32) of a TorchScript value."""
    from torch.onnx import symbolic_helper

    sizes = symbolic_helper._get_tensor_sizes(value)
    return sizes, value.type().scalarType() == 'Float'


def _ts_const(value, kind):
    from torch.onnx import symbolic_helper

    return symbolic_helper._maybe_get_const(value, kind)


def _ts_offset_sizes(offset):
    """The static sizes of deform_ps_roi_pool's offset. The wrapper's placeholder for "no
    offsets", ``new_zeros((K, 0, ph, pw))``, reaches the exporter without a shape: its sizes
    are then read from the ``ConstantOfShape`` list that makes it."""
    from torch.onnx import symbolic_helper

    sizes = symbolic_helper._get_tensor_sizes(offset)
    node = offset.node()
    if (sizes is None or None in sizes[1:]) and node.kind() == 'onnx::ConstantOfShape':
        shape = next(node.inputs()).node()
        if shape.kind() == 'prim::ListConstruct':
            sizes = [symbolic_helper._maybe_get_const(v, 'i') for v in shape.inputs()]
            sizes = [v if isinstance(v, int) else None for v in sizes]
    return sizes if sizes is not None else [None] * 4


def _ts_ps_roi_pool(g, input, rois, spatial_scale, kh, kw, original=None):
    kh, kw = _ts_const(kh, 'i'), _ts_const(kw, 'i')
    sizes, is_float = _ts_input_info(input)
    original = original is not None and bool(_ts_const(original, 'b'))
    _check_export_args('ps_roi_pool', sizes[1], is_float, kh, kw)
    return onnx_graph.ps_roi_pool(_TorchScriptEmitter(g), input, rois,
                                  _ts_const(spatial_scale, 'f'), kh, kw, sizes[1],
                                  _rule(original, POOL_RULES))


def _ts_ps_roi_align(g, input, rois, spatial_scale, kh, kw, sampling_ratio):
    kh, kw = _ts_const(kh, 'i'), _ts_const(kw, 'i')
    sizes, is_float = _ts_input_info(input)
    _check_export_args('ps_roi_align', sizes[1], is_float, kh, kw)
    sampling_ratio = _ts_const(sampling_ratio, 'i')
    _check_sampling_ratio(sampling_ratio)
    return onnx_graph.bilinear_ps_pool(_TorchScriptEmitter(g), input, rois,
                                       _ts_const(spatial_scale, 'f'), kh, kw, sizes[1],
                                       sampling_ratio)


def _ts_deform_ps_roi_pool(g, input, rois, offset, spatial_scale, kh, kw, sample_per_part,
                           trans_std, original=None):
    kh, kw = _ts_const(kh, 'i'), _ts_const(kw, 'i')
    sizes, is_float = _ts_input_info(input)
    original = original is not None and bool(_ts_const(original, 'b'))
    _check_export_args('deform_ps_roi_pool', sizes[1], is_float, kh, kw)
    groups, parts = _deform_groups(_ts_offset_sizes(offset), (kh, kw))
    return onnx_graph.bilinear_ps_pool(
        _TorchScriptEmitter(g), input, rois, _ts_const(spatial_scale, 'f'), kh, kw, sizes[1],
        _ts_const(sample_per_part, 'i'), offset=offset, groups=groups, parts=parts,
        trans_std=_ts_const(trans_std, 'f'), rule=_rule(original, DEFORM_RULES))


_TORCHSCRIPT_SYMBOLICS = {'ps_roi_pool': _ts_ps_roi_pool, 'ps_roi_align': _ts_ps_roi_align,
                          'deform_ps_roi_pool': _ts_deform_ps_roi_pool}


def register_torchscript_symbolics():
    """Registers the symbolics with ``torch.onnx.register_custom_op_symbolic`` (where this torch
    still has the TorchScript exporter); called by ``import mmdet_psroi.ops``."""
    register = getattr(torch.onnx, 'register_custom_op_symbolic', None)
    if register is None:
        return
    for name, symbolic in _TORCHSCRIPT_SYMBOLICS.items():
        register(f'mmdet_psroi::{name}', symbolic, OPSET)


# --- dynamo exporter (onnxscript) -------------------------------------------------------------

class _OnnxscriptEmitter(onnx_graph.Emitter):
    def __init__(self):
        import numpy
        import onnx_ir
        from onnxscript import opset18

        self.op, self.ir, self.numpy = opset18, onnx_ir, numpy
        self.dtypes = {onnx_graph.FLOAT: numpy.float32, onnx_graph.INT64: numpy.int64}

    def emit(self, op_type, *inputs, **attributes):
        return getattr(self.op, op_type)(*inputs, **attributes)

    def constant(self, values, dtype):
        array = self.numpy.array(values, dtype=self.dtypes[dtype])
        return self.op.Constant(value=self.ir.tensor(array))


def _dynamo_input_info(value):
    import onnx_ir

    sizes = [dim if isinstance(dim, int) else None for dim in value.shape]
    return sizes, value.dtype == onnx_ir.DataType.FLOAT


def _dynamo_ps_roi_pool(input, rois, spatial_scale, kh, kw, original=False):
    sizes, is_float = _dynamo_input_info(input)
    _check_export_args('ps_roi_pool', sizes[1], is_float, kh, kw)
    return onnx_graph.ps_roi_pool(_OnnxscriptEmitter(), input, rois, float(spatial_scale),
                                  kh, kw, sizes[1], _rule(original, POOL_RULES))


def _dynamo_ps_roi_align(input, rois, spatial_scale, kh, kw, sampling_ratio):
    sizes, is_float = _dynamo_input_info(input)
    _check_export_args('ps_roi_align', sizes[1], is_float, kh, kw)
    _check_sampling_ratio(sampling_ratio)
    return onnx_graph.bilinear_ps_pool(_OnnxscriptEmitter(), input, rois,
                                       float(spatial_scale), kh, kw, sizes[1], sampling_ratio)


def _dynamo_deform_ps_roi_pool(input, rois, offset, spatial_scale, kh, kw, sample_per_part,
                               trans_std, original=False):
    sizes, is_float = _dynamo_input_info(input)
    _check_export_args('deform_ps_roi_pool', sizes[1], is_float, kh, kw)
    groups, parts = _deform_groups(_dynamo_input_info(offset)[0], (kh, kw))
    return onnx_graph.bilinear_ps_pool(
        _OnnxscriptEmitter(), input, rois, float(spatial_scale), kh, kw, sizes[1],
        sample_per_part, offset=offset, groups=groups, parts=parts, trans_std=float(trans_std),
        rule=_rule(original, DEFORM_RULES))


def onnx_translation_table():
    """The dynamo exporter's translations of the ops:
    ``torch.onnx.export(..., dynamo=True, custom_translation_table=onnx_translation_table())``.
    Needs onnxscript (0.6.2 is tested; 0.7.x's inliner rejects custom translations)."""
    ops = torch.ops.mmdet_psroi
    return {ops.ps_roi_pool.default: _dynamo_ps_roi_pool,
            ops.ps_roi_align.default: _dynamo_ps_roi_align,
            ops.deform_ps_roi_pool.default: _dynamo_deform_ps_roi_pool}
