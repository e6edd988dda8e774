"""The CPU runtimes the ops' ONNX graphs are tested on, as pytest parameters: onnxruntime and
OpenVINO (its CPU plugin in float32, through ``mmdet_psroi_tools.onnx_runtime``)."""
import pytest

from mmdet_psroi_tools.onnx_runtime import BACKENDS, inference_session, missing_backend

RUNTIMES = [pytest.param(backend, marks=pytest.mark.skipif(
    bool(missing_backend(backend)), reason=missing_backend(backend))) for backend in BACKENDS]


def run_graph(path, backend, args):
    """The outputs of the graph at ``path`` on ``backend`` for ``args`` (tensors, in the order
    of its inputs), as numpy arrays."""
    session = inference_session(path, backend)
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)}
    return session.run(None, feeds)
