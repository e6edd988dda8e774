"""ONNX export of the ops (standard operators only) against the eager ops, run by onnxruntime.

One model calls every op variant; it is exported once per exporter the installed torch has
(TorchScript: ``dynamo=False``; dynamo: ``custom_translation_table``) with dynamic RoI count,
batch and map size, then run on random cases of other sizes than the exported ones.
"""
import inspect
import os
import warnings

import pytest
import torch

import mmdet_psroi.ops as ops

onnx = pytest.importorskip('onnx', reason='onnx is not installed (requirements/constraints-*)')
ort = pytest.importorskip('onnxruntime', reason='onnxruntime is not installed')

SCALE = 0.5
OUTPUT = (3, 2)  # non-square bins
C_OUT = 2
CHANNELS = C_OUT * OUTPUT[0] * OUTPUT[1]
OFFSET_PARTS = (2, 2)  # parts of the shared offsets differ from the bins


EXPORT_PARAMETERS = inspect.signature(torch.onnx.export).parameters
# torch 2.1's export has no dynamo argument: it is the TorchScript exporter.
TORCHSCRIPT = dict(dynamo=False) if 'dynamo' in EXPORT_PARAMETERS else {}


def _no_dynamo_exporter():
    """Why the dynamo exporter cannot run here ('' when it can)."""
    if 'custom_translation_table' not in EXPORT_PARAMETERS:
        return (f'torch {torch.__version__} has no dynamo ONNX exporter with '
                'custom_translation_table (torch >= 2.6); its TorchScript exporter is tested')
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        return 'onnxscript (the dynamo exporter\'s translator) is not installed'
    return ''


def _has_torchscript_exporter():
    return hasattr(torch.onnx, 'register_custom_op_symbolic')


EXPORTERS = [
    pytest.param('torchscript', marks=pytest.mark.skipif(
        not _has_torchscript_exporter(), reason=f'torch {torch.__version__} has no TorchScript '
        'ONNX exporter')),
    pytest.param('dynamo', marks=pytest.mark.skipif(bool(_no_dynamo_exporter()),
                                                    reason=_no_dynamo_exporter())),
]


VARIANTS = ['ps_roi_pool', "ps_roi_pool(rule='caffe')", 'ps_roi_align(2)', 'ps_roi_align(1)',
            'deform (no offset)', 'deform (shared offset)', 'deform (offset per channel)',
            "deform (rule='mxnet', no offset)", "deform (rule='mxnet', shared offset)",
            "deform (rule='mxnet', offset per channel)"]


class AllOps(torch.nn.Module):
    """Every op variant, in the order of :data:`VARIANTS`."""

    def forward(self, x, rois, offset_shared, offset_per_channel):
        pool = [ops.ps_roi_pool(x, rois, OUTPUT, SCALE, rule=rule)
                for rule in ('torchvision', 'caffe')]
        align = [ops.ps_roi_align(x, rois, OUTPUT, SCALE, sampling_ratio=n) for n in (2, 1)]
        deform = [variant for rule in ('torchvision', 'mxnet') for variant in (
            ops.deform_ps_roi_pool(x, rois, None, OUTPUT, SCALE, sample_per_part=3, rule=rule),
            ops.deform_ps_roi_pool(x, rois, offset_shared, OUTPUT, SCALE,
                                   part_size=OFFSET_PARTS, sample_per_part=2, trans_std=0.1,
                                   rule=rule),
            ops.deform_ps_roi_pool(x, rois, offset_per_channel, OUTPUT, SCALE,
                                   sample_per_part=2, trans_std=0.2, rule=rule))]
        return tuple(pool + align + deform)


def _case(seed, images, rois, height, width):
    """Random maps and RoIs: some partly or wholly outside the map, some tiny (< 1 px), some
    on whole and half pixels (the rounding ties of the rules that round image coordinates or
    scaled ones; tiny ones then have no or half a pixel)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(images, CHANNELS, height, width, generator=g)
    size = torch.tensor([width, height], dtype=torch.float32) / SCALE
    centre = (torch.rand(rois, 2, generator=g) * 1.6 - 0.3) * size
    extent = torch.rand(rois, 2, generator=g) * size
    extent[: rois // 3] *= 0.01  # tiny RoIs
    boxes = torch.cat([centre - extent / 2, centre + extent / 2], dim=1)
    boxes[rois // 6: 2 * rois // 3] = torch.round(boxes[rois // 6: 2 * rois // 3] * 2) / 2
    batch = torch.randint(0, images, (rois, 1), generator=g).float()
    shared = torch.randn(rois, 2, *OFFSET_PARTS, generator=g)
    per_channel = torch.randn(rois, 2 * C_OUT, *OUTPUT, generator=g)
    return x, torch.cat([batch, boxes], dim=1), shared, per_channel


def _export(model, args, path, exporter, input_names=None):
    """Exports ``model(*args)`` with a dynamic first dimension of every input but the map's
    channels (the map: N, H, W)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if exporter == 'dynamo':
            n, k = torch.export.Dim('N'), torch.export.Dim('K')
            h, w = torch.export.Dim('H'), torch.export.Dim('W')
            shapes = [{0: n, 2: h, 3: w}] + [{0: k}] * (len(args) - 1)
            torch.onnx.export(model, args, path, dynamo=True, dynamic_shapes=shapes,
                              custom_translation_table=ops.onnx_translation_table())
        else:
            names = input_names[:len(args)]
            axes = {names[0]: {0: 'N', 2: 'H', 3: 'W'}, **{name: {0: 'K'} for name in names[1:]}}
            torch.onnx.export(model, args, path, input_names=names, **TORCHSCRIPT,
                              dynamic_axes=axes, opset_version=17)


@pytest.fixture(scope='module', params=EXPORTERS)
def exported(request, tmp_path_factory):
    path = str(tmp_path_factory.mktemp(request.param) / 'ops.onnx')
    _export(AllOps(), _case(0, 2, 6, 7, 9), path, request.param,
            ['x', 'rois', 'offset_shared', 'offset_per_channel'])
    return path


def test_graph_has_standard_operators_only(exported):
    model = onnx.load(exported)
    onnx.checker.check_model(model)
    domains = {node.domain for node in model.graph.node}
    assert domains <= {'', 'ai.onnx'}, domains
    assert not [f for f in model.functions if f.domain not in ('', 'ai.onnx')]


@pytest.mark.parametrize('seed,images,rois,height,width', [
    (1, 2, 9, 7, 9),  # the exported sizes but other values
    (2, 3, 17, 5, 12),  # other batch, RoI count and map size
    (3, 1, 1, 13, 4),
    (4, 2, 0, 6, 6),  # no RoIs
])
def test_onnxruntime_matches_eager(exported, seed, images, rois, height, width):
    args = _case(seed, images, rois, height, width)
    session = ort.InferenceSession(exported, providers=['CPUExecutionProvider'])
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)}
    got = session.run(None, feeds)
    expected = AllOps()(*args)
    assert len(got) == len(expected) == len(VARIANTS)
    for name, out, ref in zip(VARIANTS, got, expected):
        assert out.shape == tuple(ref.shape), name
        torch.testing.assert_close(torch.from_numpy(out), ref, rtol=1e-5, atol=1e-5,
                                   msg=lambda m, name=name: f'{name}: {m}')


def test_invalid_rois_pool_zero(exported):
    """A RoI with a non-finite coordinate pools 0 in the graph, as in the eager op."""
    x, rois, shared, per_channel = _case(5, 2, 4, 6, 7)
    rois[1, 2] = float('nan')
    rois[2, 3] = float('inf')
    session = ort.InferenceSession(exported, providers=['CPUExecutionProvider'])
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(),
                                                 (x, rois, shared, per_channel))}
    for out, ref in zip(session.run(None, feeds), AllOps()(x, rois, shared, per_channel)):
        assert not out[1:3].any()
        torch.testing.assert_close(torch.from_numpy(out), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('exporter', EXPORTERS[:1])
def test_static_shapes_export(exporter, tmp_path):
    """Without dynamic axes every size is a constant of the traced graph."""
    args = _case(7, 1, 5, 6, 8)
    path = str(tmp_path / 'static.onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(AllOps(), args, path, opset_version=17, **TORCHSCRIPT)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)}
    for out, ref in zip(session.run(None, feeds), AllOps()(*args)):
        torch.testing.assert_close(torch.from_numpy(out), ref, rtol=1e-5, atol=1e-5)


class AdaptiveAlign(torch.nn.Module):
    def forward(self, x, rois):
        return ops.ps_roi_align(x, rois, OUTPUT, SCALE, sampling_ratio=-1)


class DoubleMap(torch.nn.Module):
    def forward(self, x, rois):
        return ops.ps_roi_pool(x.double(), rois, OUTPUT, SCALE)


def _export_error(model, path, exporter):
    """The OnnxExportError behind a failed export (the dynamo exporter wraps it)."""
    x, rois, _, _ = _case(6, 1, 3, 6, 6)
    with pytest.raises(Exception) as info:
        _export(model, (x, rois), path, exporter, ['x', 'rois'])
    error = info.value
    while error is not None and not isinstance(error, ops.OnnxExportError):
        error = error.__cause__ or error.__context__
    assert error is not None, f'no OnnxExportError behind {info.value!r}'
    assert not os.path.exists(path), 'a failed export left a file behind'
    return str(error)


@pytest.mark.parametrize('exporter', EXPORTERS)
def test_adaptive_sampling_ratio_is_refused(exporter, tmp_path):
    message = _export_error(AdaptiveAlign(), str(tmp_path / 'm.onnx'), exporter)
    assert 'sampling_ratio=-1' in message and 'roi_layer.sampling_ratio' in message


@pytest.mark.parametrize('exporter', EXPORTERS)
def test_non_float32_map_is_refused(exporter, tmp_path):
    message = _export_error(DoubleMap(), str(tmp_path / 'm.onnx'), exporter)
    assert 'float32' in message
