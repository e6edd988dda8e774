"""The ops' exported graphs use only what TensorRT's ONNX parser supports, within its stated
restrictions: operators of its support matrix, no float64 tensor (the parser casts DOUBLE down
to FLOAT), and the ``axes`` / ``axis`` inputs the matrix requires to be initializers constant.

The operator list is checked against onnx-tensorrt's ``docs/operators.md`` (the support
matrix of TensorRT 10.0, opsets 9 to 20): every operator below is listed there as supported
for the types the graphs give it (FLOAT, INT64, BOOL). No TensorRT runs here (no GPU): the
graphs are parser-compatible, not run on TensorRT.
"""
import pytest

from tests.ops.test_onnx_export import EXPORTERS, AllOps, _case, _export

onnx = pytest.importorskip('onnx', reason='onnx is not installed (requirements/constraints-*)')

TENSORRT_OPERATORS = {
    'Abs', 'Add', 'And', 'Cast', 'Ceil', 'Clip', 'Concat', 'Constant', 'ConstantOfShape',
    'CumSum', 'Div', 'Equal', 'Expand', 'Floor', 'Gather', 'Greater', 'GreaterOrEqual',
    'Identity', 'Less', 'LessOrEqual', 'MatMul', 'Max', 'Min', 'Mul', 'Not', 'Or', 'Pad', 'Range',
    'ReduceSum', 'Reshape', 'Shape', 'Sign', 'Slice', 'Split', 'Squeeze', 'Sub', 'Transpose',
    'Unsqueeze', 'Where',
}
# operator -> the input index that must be constant ("must be an initializer")
CONSTANT_INPUTS = {'CumSum': 1, 'ReduceSum': 1, 'Slice': 3, 'Squeeze': 1, 'Unsqueeze': 1,
                   'Pad': 3}
DOUBLE = onnx.TensorProto.DOUBLE


def _nodes(model):
    yield from model.graph.node
    for function in model.functions:
        yield from function.node


def _constants(model):
    names = {init.name for init in model.graph.initializer}
    names |= {out for node in _nodes(model) if node.op_type == 'Constant' for out in node.output}
    return names


def tensorrt_violations(model):
    """What in ``model`` TensorRT's ONNX parser does not support (an empty list if nothing)."""
    model = onnx.shape_inference.infer_shapes(model)
    problems = []
    constants = _constants(model)
    for node in _nodes(model):
        if node.op_type not in TENSORRT_OPERATORS:
            problems.append(f'operator {node.op_type} ({node.name})')
        index = CONSTANT_INPUTS.get(node.op_type)
        if index is not None and len(node.input) > index and node.input[index] and \
                node.input[index] not in constants:
            problems.append(f'{node.op_type} {node.name}: input {index} is not constant')
        for attribute in node.attribute:
            if attribute.name == 'to' and attribute.i == DOUBLE:
                problems.append(f'{node.name} casts to float64')
            if attribute.type == onnx.AttributeProto.TENSOR and attribute.t.data_type == DOUBLE:
                problems.append(f'{node.name}: a float64 constant')
    values = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    problems += [f'float64 tensor {v.name}' for v in values
                 if v.type.tensor_type.elem_type == DOUBLE]
    problems += [f'float64 initializer {i.name}' for i in model.graph.initializer
                 if i.data_type == DOUBLE]
    return problems


@pytest.mark.parametrize('exporter', EXPORTERS)
def test_exported_ops_are_tensorrt_parser_compatible(exporter, tmp_path):
    path = str(tmp_path / 'ops.onnx')
    _export(AllOps(), _case(0, 2, 6, 7, 9), path, exporter,
            ['x', 'rois', 'offset_shared', 'offset_per_channel'])
    assert tensorrt_violations(onnx.load(path)) == []


def test_the_check_finds_float64_unsupported_operators_and_dynamic_axes():
    helper = onnx.helper
    nodes = [helper.make_node('Cast', ['x'], ['d'], to=DOUBLE),
             helper.make_node('Cast', ['d'], ['f'], to=onnx.TensorProto.FLOAT),
             helper.make_node('Compress', ['f', 'keep'], ['n']),  # 'N' in the matrix
             helper.make_node('CumSum', ['f', 'axis'], ['y'])]
    graph = helper.make_graph(
        nodes, 'g', [helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [3]),
                     helper.make_tensor_value_info('axis', onnx.TensorProto.INT64, []),
                     helper.make_tensor_value_info('keep', onnx.TensorProto.BOOL, [3])],
        [helper.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info('n', onnx.TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    problems = tensorrt_violations(model)
    assert any('casts to float64' in p for p in problems), problems
    assert 'float64 tensor d' in problems
    assert any(p.startswith('operator Compress') for p in problems)
    assert any('CumSum' in p and 'not constant' in p for p in problems)
