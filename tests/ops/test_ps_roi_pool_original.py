"""ps_roi_pool's two quantisation rules: ``rule='caffe'`` against an independent
transliteration of R-FCN's Caffe layer (tests/ops/reference.py), forward and backward;
the default against torchvision's rule; and the float32 geometry of both with
half-precision RoIs.

Tests that take ``device`` run on the CPU and on CUDA where a GPU is visible (conftest.py).
"""
import pytest
import torch

from mmdet_psroi.ops import PSRoIPool, ps_roi_pool
from mmdet_psroi.ops.ps_roi import POOL_RULES
from tests.ops.devices import requires_torch
from tests.ops.reference import CaffePSROIPooling, ps_roi_pool_reference
from tests.ops.test_ps_roi import random_case, random_rois


def _case(seed):
    """A random case (test_ps_roi.random_case: square and non-square k, batch 1-3, RoIs
    inside, across and outside the map, tiny ones) with two RoIs on exact halves."""
    x, rois, size, scale, g = random_case(seed, scales=(1 / 16, 0.5))
    # exact halves, which C's round() takes away from zero (Python's round() to even): of the
    # image coordinates (the original rule) and of the map coordinates (torchvision's)
    rois[-2, 1:] = torch.tensor([2.5, -0.5, 7.5, 3.5])
    rois[-1, 1:] = torch.tensor([-3.5, 4.5, 0.5, 4.5]) / scale
    grad = torch.randn(rois.size(0), x.size(1) // (size[0] * size[1]), *size,
                       dtype=torch.float64, generator=g)
    return x, rois, size, scale, grad


def _ours(x, rois, size, scale, grad, device, rule='caffe'):
    leaf = x.to(device, copy=True).requires_grad_()
    out = ps_roi_pool(leaf, rois.to(device), size, scale, rule)
    out.backward(grad.to(device, x.dtype))
    return out.detach().cpu(), leaf.grad.cpu()


@pytest.mark.parametrize('seed', range(8))
def test_original_matches_the_caffe_layer_in_float64(seed, device):
    x, rois, size, scale, grad = _case(seed)
    layer = CaffePSROIPooling(scale, *size)
    expected = layer.forward(x.numpy(), rois.numpy())
    expected_grad = layer.backward(grad.numpy(), rois.numpy(), tuple(x.shape))
    out, x_grad = _ours(x, rois, size, scale, grad, device)
    assert expected.any() and expected_grad.any()
    torch.testing.assert_close(out, torch.from_numpy(expected), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x_grad, torch.from_numpy(expected_grad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('seed', range(4))
def test_original_matches_the_caffe_layer_in_float32(seed, device):
    """The layer's Dtype float: the same bins (float32 edges), sums within float rounding."""
    x, rois, size, scale, grad = _case(seed)
    x, rois, grad = x.float(), rois.float(), grad.float()
    layer = CaffePSROIPooling(scale, *size)
    expected = layer.forward(x.numpy(), rois.numpy())
    expected_grad = layer.backward(grad.numpy(), rois.numpy(), tuple(x.shape))
    out, x_grad = _ours(x, rois, size, scale, grad, device)
    torch.testing.assert_close(out, torch.from_numpy(expected), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x_grad, torch.from_numpy(expected_grad), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('seed', range(4))
def test_default_rule_is_torchvisions(seed, device):
    x, rois, size, scale, grad = _case(seed)
    out, x_grad = _ours(x, rois, size, scale, grad, device, rule='torchvision')
    leaf = x.clone().requires_grad_()
    expected = ps_roi_pool_reference(leaf, rois, size, scale)
    expected.backward(grad)
    torch.testing.assert_close(out, expected.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x_grad, leaf.grad, rtol=1e-12, atol=1e-12)


def test_the_rules_pool_different_cells(device):
    """A 1-pixel RoI at x = y = 40 on a stride-16 map: torchvision's rule rounds 40/16 = 2.5
    to cell 3; the original rule keeps the RoI at [2.5, 2.5625), widened to 0.1 cell, and
    reads cell 2. A map whose value is its column (row) index shows which cell was read."""
    columns = torch.arange(6.0).expand(6, 6)
    x = torch.stack([columns, columns.t()])[None].to(device)  # channel 0: column, 1: row
    rois = torch.tensor([[0, 40.0, 40.0, 40.0, 40.0]], device=device)
    assert ps_roi_pool(x, rois, (1, 1), 1 / 16)[0, :, 0, 0].tolist() == [3.0, 3.0]
    assert ps_roi_pool(x, rois, (1, 1), 1 / 16, 'caffe')[0, :, 0, 0].tolist() == [2.0, 2.0]


REDUCED = [torch.float16, torch.bfloat16]


@pytest.mark.parametrize('rule', POOL_RULES)
@pytest.mark.parametrize('dtype', REDUCED)
def test_geometry_is_float32_for_half_precision_rois(dtype, rule, device):
    """Half/bfloat16 RoIs on a half/bfloat16 map pool the bins that float64 RoIs with the same
    (rounded) values pool from a float64 map: the bin edges are computed in float32, not in
    the RoIs' dtype. R-FCN's setting: unit-normal maps at stride 16, k = 5."""
    g = torch.Generator().manual_seed(3)
    k, scale = 5, 1 / 16
    x = torch.randn(2, 3 * k * k, 38, 63, generator=g)
    rois = random_rois(g, 200, 2, 38, 63, scale).to(dtype)  # the rounded RoIs
    out = ps_roi_pool(x.to(device, dtype), rois.to(device), k, scale, rule)
    # the float32 op on the map's rounded values: the same bins, one rounding of the output
    same_map = ps_roi_pool(x.to(dtype).float().to(device), rois.float().to(device), k, scale,
                           rule)
    torch.testing.assert_close(out, same_map.to(dtype), rtol=0, atol=0)
    expected = ps_roi_pool(x.double(), rois.double(), k, scale, rule)
    error = (out.cpu().double() - expected).abs().max().item()
    assert error < {torch.float16: 2e-2, torch.bfloat16: 6e-2}[dtype], error  # bin shift: > 1


@pytest.mark.parametrize('rule', POOL_RULES)
def test_float64_map_computes_the_geometry_in_float64_whatever_the_rois_dtype(rule, device):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 2 * 9, 20, 30, dtype=torch.float64, generator=g).to(device)
    rois = random_rois(g, 50, 1, 20, 30, 0.25).to(device)
    for dtype in (torch.float32, *REDUCED):
        rounded = rois.to(dtype)
        torch.testing.assert_close(ps_roi_pool(x, rounded, 3, 0.25, rule),
                                   ps_roi_pool(x, rounded.double(), 3, 0.25, rule),
                                   rtol=0, atol=0)


def test_module_takes_the_rule(device):
    pool = PSRoIPool(output_size=(2, 3), spatial_scale=0.5, rule='caffe')
    assert repr(pool) == "PSRoIPool(output_size=(2, 3), spatial_scale=0.5, rule='caffe')"
    assert repr(PSRoIPool(7)) == ("PSRoIPool(output_size=(7, 7), spatial_scale=1.0, "
                                  "rule='torchvision')")
    x, rois, _, _, _ = _case(1)
    x = x[:, :6].to(device)
    rois = rois[rois[:, 0] < x.size(0)].to(device)
    torch.testing.assert_close(pool(x, rois), ps_roi_pool(x, rois, (2, 3), 0.5, rule='caffe'))


@pytest.mark.parametrize('bad', [1, None, 'yes'])
def test_original_must_be_a_bool(bad):
    x, rois = torch.randn(1, 4, 5, 5), torch.tensor([[0, 0, 0, 3.0, 3.0]])
    with pytest.raises(ValueError, match=r"original must be True .* or False .*, got"):
        ps_roi_pool(x, rois, 2, original=bad)
    with pytest.raises(ValueError, match='original must be True'):
        PSRoIPool(2, original=bad)


def test_raw_ops_default_to_torchvisions_rule():
    """Callers of the schema without `original` (older code, exporters) keep the default."""
    x, rois, size, scale, grad = _case(2)
    ops = torch.ops.mmdet_psroi
    torch.testing.assert_close(ops.ps_roi_pool(x, rois, scale, *size),
                               ops.ps_roi_pool(x, rois, scale, *size, False), rtol=0, atol=0)
    sizes = tuple(x.shape)
    torch.testing.assert_close(ops.ps_roi_pool_backward(grad, rois, scale, *size, *sizes),
                               ops.ps_roi_pool_backward(grad, rois, scale, *size, *sizes, False),
                               rtol=0, atol=0)
    assert not torch.equal(ops.ps_roi_pool(x, rois, scale, *size, True),
                           ops.ps_roi_pool(x, rois, scale, *size))


@requires_torch('2.4', 'torch.library.opcheck')
def test_opcheck_original(device):
    x, rois, size, scale, grad = _case(3)
    ops = torch.ops.mmdet_psroi
    torch.library.opcheck(ops.ps_roi_pool,
                          (x.to(device).requires_grad_(), rois.to(device), scale, *size, True))
    torch.library.opcheck(ops.ps_roi_pool_backward,
                          (grad.to(device), rois.to(device), scale, *size, *x.shape, True))


def test_original_traces_with_torch_compile():
    x, rois, size, scale, _ = _case(5)
    fn = torch.compile(lambda t, r: ps_roi_pool(t, r, size, scale, original=True),
                       fullgraph=True, backend='eager')
    torch.testing.assert_close(fn(x, rois), ps_roi_pool(x, rois, size, scale, original=True))


def test_extractor_config_passes_original_to_the_pool_only():
    """roi_layer=dict(type='PSRoIPool', original=True) reaches the layer; PSRoIAlign has no
    such option and the build names the key."""
    pytest.importorskip('mmdet', reason='the RoI extractor needs mmdet')
    from mmdet_psroi.models.roi_extractors.ps_roi_extractor import PSRoIExtractor
    extractor = PSRoIExtractor(dict(type='PSRoIPool', output_size=7, original=True), [16])
    assert extractor.roi_layers[0].original is True
    assert not PSRoIExtractor(dict(type='PSRoIPool', output_size=7), [16]).roi_layers[0].original
    with pytest.raises(ValueError, match=r'roi_layer\.original is not an argument of PSRoIAlign'):
        PSRoIExtractor(dict(type='PSRoIAlign', output_size=7, original=True), [16])
