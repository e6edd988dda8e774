"""Exporting a module to ONNX in memory and running it with ONNX Runtime, for the tests."""
import io

import pytest
import torch

from mmdet_psroi_tools.onnx_runtime import available_exporters, exporter_options

OPSETS = dict(torchscript=17, dynamo=18)


def export_bytes(module, inputs, input_names, dynamic_axes, exporter='torchscript'):
    """``module`` traced on ``inputs`` by ``exporter`` -> the ONNX model's bytes."""
    buffer = io.BytesIO()
    if exporter == 'dynamo':
        dynamic = dict(dynamic_shapes=dynamic_shapes(module, input_names, dynamic_axes))
    else:
        dynamic = dict(dynamic_axes=dynamic_axes)
    with torch.no_grad():
        torch.onnx.export(module, inputs, buffer, opset_version=OPSETS[exporter],
                          input_names=input_names, **dynamic, **exporter_options(exporter))
    return buffer.getvalue()


def dynamic_shapes(module, input_names, dynamic_axes):
    """The dynamo exporter's ``dynamic_shapes`` of the TorchScript exporter's ``dynamic_axes``
    (every named axis dynamic), for ``module.forward``'s positional or ``*args`` inputs."""
    import inspect

    shapes = tuple({axis: torch.export.Dim.DYNAMIC for axis in dynamic_axes.get(name, {})}
                   for name in input_names)
    parameters = inspect.signature(module.forward).parameters.values()
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    return (shapes, ) if varargs else shapes


def export_session(module, inputs, input_names, dynamic_axes, exporter='torchscript'):
    """``module`` traced on ``inputs`` by ``exporter`` -> an ONNX Runtime session."""
    return ort_session(export_bytes(module, inputs, input_names, dynamic_axes, exporter))


def ort_session(model):
    """An ONNX Runtime CPU session of ``model`` (bytes); skips the test without onnxruntime."""
    ort = pytest.importorskip('onnxruntime')
    return ort.InferenceSession(model, providers=['CPUExecutionProvider'])


def run(session, *inputs):
    """The session's outputs for ``inputs`` (tensors, in the order of its inputs), as tensors."""
    names = [i.name for i in session.get_inputs()]
    outputs = session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})
    return [torch.from_numpy(out) for out in outputs]


def exporters():
    """pytest parameters of both exporters, each skipped where this torch lacks it."""
    return [pytest.param(name, marks=pytest.mark.skipif(
        name not in available_exporters(), reason=f'torch {torch.__version__} has no {name} '
        'ONNX exporter')) for name in ('torchscript', 'dynamo')]


class Call(torch.nn.Module):
    """A module that calls ``fn`` (to export a function)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)
