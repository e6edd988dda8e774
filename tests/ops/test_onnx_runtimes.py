"""The ops' ONNX graphs on every CPU runtime the docs list (onnxruntime, OpenVINO) against the
compiled op: exported once with dynamic map size and RoI count, then run on maps of other
sizes up to FPN P2 at 800 x 1333, with values that are not centred (a trained head's are
not) and one or many RoIs. Each output is within 1e-4 x the map's largest magnitude of the
compiled op's."""
import warnings

import pytest
import torch

import mmdet_psroi.ops as ops
from tests.onnx_runtimes import RUNTIMES, run_graph
from tests.ops.test_onnx_export import TORCHSCRIPT, AllOps, _case

pytest.importorskip('onnx', reason='onnx is not installed (requirements/constraints-*)')

BINS = 7
RELATIVE_TOLERANCE = 1e-4  # of the map's largest magnitude


class PoolOp(torch.nn.Module):
    def __init__(self, scale, rule='torchvision'):
        super().__init__()
        self.scale, self.rule = scale, rule

    def forward(self, x, rois):
        return ops.ps_roi_pool(x, rois, BINS, self.scale, rule=self.rule)


class AlignOp(PoolOp):
    def forward(self, x, rois):
        return ops.ps_roi_align(x, rois, BINS, self.scale, sampling_ratio=2)


class DeformOp(PoolOp):
    def forward(self, x, rois, offset):
        return ops.deform_ps_roi_pool(x, rois, offset, BINS, self.scale, part_size=BINS,
                                      sample_per_part=2, trans_std=0.1, rule=self.rule)


def maps_and_rois(seed, channels, height, width, rois, scale, mean, images=1, ramp=0.0,
                  ties=False):
    """Maps ``N(mean, 1)`` (plus a ramp from 0 to ``ramp`` along W) and proposals-like RoIs
    (inside the image, 4 px to half its side, the first one partly outside) with deformable
    offsets. ``ties``: the RoIs' corners on whole and half pixels and every other RoI below
    one pixel (0, 0.5 or 1 after rounding)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(images, channels, height, width, generator=g) + mean
    x += torch.linspace(0, ramp, width)
    size = torch.tensor([width, height], dtype=torch.float32) / scale
    extent = 4 + torch.rand(rois, 2, generator=g) * (size / 2 - 4)
    start = torch.rand(rois, 2, generator=g) * (size - extent)
    start[:1] -= extent[:1] / 2
    if ties:
        extent[::2] = torch.rand(len(extent[::2]), 2, generator=g)
        start, extent = torch.round(start * 2) / 2, torch.round(extent * 2) / 2
    batch = torch.randint(0, images, (rois, 1), generator=g).float()
    boxes = torch.cat([batch, start, start + extent], dim=1)
    return x, boxes, torch.randn(rois, 2, BINS, BINS, generator=g)


def export(module, args, path):
    names = ['x', 'rois', 'offset'][:len(args)]
    axes = {'x': {0: 'N', 2: 'H', 3: 'W'}, 'rois': {0: 'K'}, 'offset': {0: 'K'}}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(module, args, path, input_names=names, opset_version=17,
                          dynamic_axes={name: axes[name] for name in names}, **TORCHSCRIPT)
    return path


# name -> (module, rule)
OPS = {'ps_roi_pool': (PoolOp, 'torchvision'), 'ps_roi_pool_caffe': (PoolOp, 'caffe'),
       'ps_roi_align': (AlignOp, 'torchvision'),
       'deform_ps_roi_pool': (DeformOp, 'torchvision'),
       'deform_ps_roi_pool_mxnet': (DeformOp, 'mxnet')}


@pytest.fixture(scope='module', params=sorted(OPS))
def exported(request, tmp_path_factory):
    """(name, module, graph path) of one op (1/4 scale, 98 channels), traced at another
    size and RoI count than those it is run on."""
    kind, rule = OPS[request.param]
    module = kind(0.25, rule)
    x, rois, offset = maps_and_rois(0, 2 * BINS * BINS, 20, 24, 5, 0.25, 0.0)
    args = (x, rois, offset)[:3 if kind is DeformOp else 2]
    path = str(tmp_path_factory.mktemp(request.param) / 'op.onnx')
    return request.param, module, export(module, args, path)


def assert_close_to_compiled_op(name, module, path, backend, case):
    x, rois, offset = case
    args = (x, rois, offset)[:3 if isinstance(module, DeformOp) else 2]
    with torch.no_grad():
        expected = module(*args)
    got = torch.from_numpy(run_graph(path, backend, args)[0])
    assert got.shape == expected.shape
    error = float((got - expected).abs().max()) if got.numel() else 0.0
    magnitude = float(x.abs().max())
    assert error <= RELATIVE_TOLERANCE * magnitude, (
        f'{name} on {backend}: max abs error {error:.3g}, map magnitude {magnitude:.3g} '
        f'({error / magnitude:.2g} relative)')


@pytest.mark.parametrize('backend', RUNTIMES)
@pytest.mark.parametrize('rois,height,width,mean,images,ramp,ties', [
    (300, 200, 336, 20.0, 1, 0.0, False),  # FPN P2 of an 800 x 1333 image
    (300, 200, 336, 10.0, 1, 20.0, False),  # values that vary across the map
    (300, 200, 336, 20.0, 1, 0.0, True),  # RoIs on whole and half pixels, tiny ones
    (1, 200, 336, 20.0, 1, 0.0, False),
    (1, 10, 12, 5.0, 1, 0.0, False),
    (37, 33, 17, 10.0, 2, 0.0, True),
    (0, 9, 9, 5.0, 1, 0.0, False),
])
def test_graph_equals_compiled_op(exported, backend, rois, height, width, mean, images, ramp,
                                  ties):
    name, module, path = exported
    case = maps_and_rois(1, 2 * BINS * BINS, height, width, rois, 0.25, mean, images, ramp,
                         ties)
    assert_close_to_compiled_op(name, module, path, backend, case)


@pytest.mark.slow
@pytest.mark.parametrize('backend', RUNTIMES)
@pytest.mark.parametrize('name', ['ps_roi_pool', 'ps_roi_pool_caffe', 'ps_roi_align'])
def test_c4_map_of_81_classes(tmp_path, backend, name):
    """R-FCN's C4 maps of COCO (81 classes x 7 x 7 channels) at 800 x 1333, 300 RoIs."""
    kind, rule = OPS[name]
    module = kind(1 / 16, rule)
    path = export(module, maps_and_rois(0, 81 * BINS * BINS, 6, 7, 2, 1 / 16, 0.0)[:2],
                  str(tmp_path / 'op.onnx'))
    case = maps_and_rois(2, 81 * BINS * BINS, 50, 84, 300, 1 / 16, 5.0)
    assert_close_to_compiled_op(name, module, path, backend, case)


@pytest.fixture(scope='module')
def all_ops(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('all_ops') / 'ops.onnx')
    args = _case(0, 2, 6, 7, 9)
    axes = {'x': {0: 'N', 2: 'H', 3: 'W'},
            **{name: {0: 'K'} for name in ('rois', 'offset_shared', 'offset_per_channel')}}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(AllOps(), args, path, input_names=list(axes), dynamic_axes=axes,
                          opset_version=17, **TORCHSCRIPT)
    return path


@pytest.mark.parametrize('backend', RUNTIMES)
@pytest.mark.parametrize('seed,images,rois,height,width', [
    (1, 2, 9, 7, 9), (2, 3, 17, 5, 12), (3, 1, 1, 13, 4)])
def test_every_variant_with_a_large_mean(all_ops, backend, seed, images, rois, height, width):
    """Every op variant of tests/ops/test_onnx_export.py (non-square bins, RoIs partly or
    wholly outside, tiny RoIs, offsets) on maps of mean 10."""
    x, *rest = _case(seed, images, rois, height, width)
    args = (x + 10, *rest)
    with torch.no_grad():
        expected = AllOps()(*args)
    for out, ref in zip(run_graph(all_ops, backend, args), expected):
        assert out.shape == tuple(ref.shape)
        error = float((torch.from_numpy(out) - ref).abs().max()) if ref.numel() else 0.0
        assert error <= RELATIVE_TOLERANCE * float(args[0].abs().max()), error
