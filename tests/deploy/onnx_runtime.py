"""Exporting a module to ONNX in memory and running it with ONNX Runtime, for the tests."""
import io

import pytest
import torch

from tests.tools.tool_module import load_tool

ort = pytest.importorskip('onnxruntime')
export_onnx = load_tool('deployment/export_onnx.py', 'export_onnx')


def export_session(module, inputs, input_names, dynamic_axes, opset=17):
    """``module`` traced on ``inputs`` (TorchScript exporter) -> an ONNX Runtime session."""
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, inputs, buffer, opset_version=opset, input_names=input_names,
                          dynamic_axes=dynamic_axes, **export_onnx.torchscript_exporter())
    return ort.InferenceSession(buffer.getvalue(), providers=['CPUExecutionProvider'])


def run(session, *inputs):
    """The session's outputs for ``inputs`` (tensors, in the order of its inputs), as tensors."""
    names = [i.name for i in session.get_inputs()]
    outputs = session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})
    return [torch.from_numpy(out) for out in outputs]


class Call(torch.nn.Module):
    """A module that calls ``fn`` (to export a function)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)
