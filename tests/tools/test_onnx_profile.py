"""The deployment tools' profile of an onnxruntime run: every node that ran, with its operator,
slowest first."""
import pytest

from mmdet_psroi_tools.onnx_runtime import profiled_nodes

onnx = pytest.importorskip('onnx', reason='onnx is not installed (requirements/constraints-*)')
np = pytest.importorskip('numpy')
pytest.importorskip('onnxruntime', reason='onnxruntime is not installed')


def test_profiled_nodes_lists_each_node_slowest_first():
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [64, 64])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, None)
    nodes = [helper.make_node('Transpose', ['x'], ['t'], perm=[1, 0], name='move'),
             helper.make_node('Add', ['x', 't'], ['y'], name='sum')]
    model = helper.make_model(helper.make_graph(nodes, 'g', [x], [y]),
                              opset_imports=[helper.make_opsetid('', 17)], ir_version=8)
    feeds = {'x': np.ones((64, 64), np.float32)}

    profile = profiled_nodes(model.SerializeToString(), feeds, threads=1)

    assert sorted((op_type, name) for _, op_type, name in profile) == [
        ('Add', 'sum'), ('Transpose', 'move')]
    times = [ms for ms, _, _ in profile]
    assert times == sorted(times, reverse=True) and min(times) >= 0
