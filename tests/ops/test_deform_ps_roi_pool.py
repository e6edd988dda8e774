"""Behaviour of deform_ps_roi_pool against the pure-PyTorch reference, ps_roi_align,
Deformable-ConvNets' kernel (rule='mxnet', against a transliteration of it), and its edges."""
import pytest
import torch

import mmdet_psroi.ops.ps_roi
from mmdet_psroi.ops import DeformPSRoIPool, deform_ps_roi_pool, ps_roi_align
from mmdet_psroi.ops.ps_roi import DEFORM_RULES, check_device_supported
from tests.ops.reference_deform import (
    deform_ps_roi_pool_reference,
    deformable_psroi_pooling_original,
    deformable_psroi_pooling_original_backward,
)
from tests.ops.test_ps_roi import random_rois


def inside_rois(generator, num, batch, height, width, scale):
    """RoIs whose every sample (and bilinear neighbour) lies inside the map."""
    img_h, img_w = height / scale, width / scale
    x1 = torch.rand(num, generator=generator) * img_w * 0.5
    y1 = torch.rand(num, generator=generator) * img_h * 0.5
    w = (0.1 + torch.rand(num, generator=generator) * 0.4) * img_w
    h = (0.1 + torch.rand(num, generator=generator) * 0.4) * img_h
    batch_index = torch.randint(0, batch, (num,), generator=generator).double()
    return torch.stack([batch_index, x1, y1, x1 + w, y1 + h], dim=1)


def _case(seed, groups, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    kh, kw = (int(v) for v in torch.randint(1, 5, (2,), generator=g))
    batch, c_out = 2, [2, 3][seed % 2]
    height, width = (int(v) for v in torch.randint(5, 14, (2,), generator=g))
    scale = [1.0, 0.5][seed % 2]
    x = torch.randn(batch, c_out * kh * kw, height, width, dtype=dtype, generator=g)
    rois = random_rois(g, 8, batch, height, width, scale).to(dtype)
    parts = (kh, kw) if seed % 3 else (max(kh - 1, 1), kw + 1)
    num_groups = {'none': 0, 'shared': 1, 'per_channel': c_out}[groups]
    offset = None
    if num_groups:
        offset = torch.randn(8, 2 * num_groups, *parts, dtype=dtype, generator=g)
    spp = 1 + seed % 3
    return x, rois, offset, (kh, kw), parts, scale, spp


@pytest.mark.parametrize('groups', ['none', 'shared', 'per_channel'])
@pytest.mark.parametrize('seed', range(4))
def test_forward_and_backward_match_reference(groups, seed):
    x, rois, offset, size, parts, scale, spp = _case(seed, groups)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    oa = ob = None
    if offset is not None:
        oa, ob = offset.clone().requires_grad_(), offset.clone().requires_grad_()
    out = deform_ps_roi_pool(xa, rois, oa, size, scale, parts, sample_per_part=spp,
                             trans_std=0.3)
    expected = deform_ps_roi_pool_reference(xb, rois, ob, size, scale, spp, 0.3)
    assert out.shape == expected.shape
    assert expected.abs().sum() > 0
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    grad = torch.randn(out.shape, dtype=torch.float64,
                       generator=torch.Generator().manual_seed(seed))
    out.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-10, atol=1e-10)
    if offset is not None:
        assert ob.grad.abs().sum() > 0
        torch.testing.assert_close(oa.grad, ob.grad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('groups', [1, 2])
def test_gradcheck_input_and_offset(groups):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2 * 3 * 2, 7, 9, dtype=torch.float64, generator=g, requires_grad=True)
    rois = torch.tensor([[0, 1.1, 2.2, 13.3, 11.1], [1, -3.3, 4.1, 9.2, 30.3],
                         [1, 6.2, 5.3, 17.1, 13.2]], dtype=torch.float64)
    offset = (0.5 * torch.randn(3, 2 * groups, 2, 3, dtype=torch.float64,
                                generator=g)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t, o: deform_ps_roi_pool(t, rois, o, (3, 2), 0.5, (2, 3), sample_per_part=2),
        (x, offset))


@pytest.mark.parametrize('spp', [1, 2, 4])
def test_zero_or_no_offset_equals_ps_roi_align_inside_the_map(spp):
    g = torch.Generator().manual_seed(spp)
    x = torch.randn(2, 3 * 9, 12, 15, generator=g, dtype=torch.float64)
    rois = inside_rois(g, 10, 2, 12, 15, 0.5)
    expected = ps_roi_align(x, rois, 3, 0.5, sampling_ratio=spp)
    no_offset = deform_ps_roi_pool(x, rois, None, 3, 0.5, sample_per_part=spp)
    zero_offset = deform_ps_roi_pool(x, rois, torch.zeros(10, 2, 3, 3, dtype=torch.float64), 3,
                                     0.5, sample_per_part=spp)
    torch.testing.assert_close(no_offset, expected, rtol=0, atol=0)
    torch.testing.assert_close(zero_offset, expected, rtol=0, atol=0)


def test_border_bins_average_the_samples_inside_the_map():
    """ps_roi_align divides by every sample, this op by those inside [-1, W]."""
    x = torch.ones(1, 4, 6, 6)
    # Map x from -0.5 to 8.5, k=2: the right bins span [4, 8.5], their 4 sample columns lie at
    # x = 4.56, 5.69, 6.81, 7.94, of which 2 are inside [-1, 6]; every row is inside.
    rois = torch.tensor([[0, 0.0, 0.0, 9.0, 6.0]])
    ours = deform_ps_roi_pool(x, rois, None, 2, 1.0, sample_per_part=4)
    align = ps_roi_align(x, rois, 2, 1.0, sampling_ratio=4)
    assert torch.equal(ours, torch.ones_like(ours))
    torch.testing.assert_close(align[0, 0, :, 1], torch.tensor([0.5, 0.5]))
    # A bin moved entirely off the map pools 0.
    far = torch.tensor([[[[100.0]], [[0.0]]]])
    out = deform_ps_roi_pool(x, rois, far, 2, 1.0, part_size=1, sample_per_part=4)
    assert torch.equal(out, torch.zeros_like(out))


def test_offset_moves_the_bin_by_trans_std_times_roi_size():
    """A uniform offset of one bin (1 / (k * trans_std)) in x, 2 bins in y, equals PS RoI Align
    on the RoI shifted by that much (x: offset channel 0, y: channel 1)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(1, 2 * 9, 20, 20, generator=g, dtype=torch.float64)
    rois = torch.tensor([[0, 2.0, 3.0, 8.0, 6.0]], dtype=torch.float64)  # 6 x 3, bins 2 x 1
    trans_std = 0.25
    offset = torch.empty(1, 2, 3, 3, dtype=torch.float64)
    offset[:, 0], offset[:, 1] = 1 / (3 * trans_std), 2 / (3 * trans_std)
    moved = deform_ps_roi_pool(x, rois, offset, 3, 1.0, sample_per_part=2, trans_std=trans_std)
    shifted = rois + torch.tensor([0, 2.0, 2.0, 2.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(moved, ps_roi_align(x, shifted, 3, 1.0, 2))


def test_offset_groups_and_parts_select_the_right_offsets():
    g = torch.Generator().manual_seed(8)
    c_out, k = 4, 4
    x = torch.randn(1, c_out * k * k, 16, 16, generator=g, dtype=torch.float64)
    rois = torch.tensor([[0, 3.0, 2.0, 12.0, 13.0]], dtype=torch.float64)
    offset = 0.3 * torch.randn(1, 2 * 2, 2, 2, generator=g, dtype=torch.float64)  # 2 groups
    base = deform_ps_roi_pool(x, rois, offset, k, 1.0, 2, sample_per_part=2)
    # Group 1 (channels 2, 3), part (0, 1) (bins i < 2, j >= 2): only those outputs move.
    changed = offset.clone()
    changed[0, 2:4, 0, 1] += 0.2
    moved = deform_ps_roi_pool(x, rois, changed, k, 1.0, 2, sample_per_part=2)
    diff = (moved != base)[0]
    expected = torch.zeros(c_out, k, k, dtype=torch.bool)
    expected[2:, :2, 2:] = True
    assert torch.equal(diff, expected)
    # Parts are a nearest upsampling: 2x2 parts equal the repeated 4x4 offsets.
    repeated = offset.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    torch.testing.assert_close(deform_ps_roi_pool(x, rois, repeated, k, 1.0, sample_per_part=2),
                               base, rtol=0, atol=0)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16, torch.bfloat16])
def test_reduced_precision_map_with_float32_rois_and_offsets(dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3 * 9, 12, 14, generator=g)
    rois = random_rois(g, 10, 2, 12, 14, 0.5).float()
    offset = 0.5 * torch.randn(10, 2, 3, 3, generator=g)
    expected = deform_ps_roi_pool(x.double(), rois.double(), offset.double(), 3, 0.5)
    xd, od = x.to(dtype).requires_grad_(), offset.clone().requires_grad_()
    out = deform_ps_roi_pool(xd, rois, od, 3, 0.5)
    assert out.dtype == dtype
    tol = {torch.float32: 1e-5, torch.float16: 2e-2, torch.bfloat16: 6e-2}[dtype]
    torch.testing.assert_close(out.double(), expected, rtol=tol, atol=tol)
    out.float().sum().backward()
    assert xd.grad.dtype == dtype and torch.isfinite(xd.grad.float()).all()
    assert od.grad.dtype == torch.float32 and od.grad.abs().sum() > 0


def test_empty_rois_and_empty_map():
    x = torch.randn(1, 2 * 4, 5, 5, requires_grad=True)
    offset = torch.zeros(0, 2, 2, 2, requires_grad=True)
    out = deform_ps_roi_pool(x, torch.zeros(0, 5), offset, 2)
    assert out.shape == (0, 2, 2, 2)
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x)) and offset.grad.shape == (0, 2, 2, 2)
    for height, width in [(0, 5), (5, 0)]:
        empty = torch.randn(1, 8, height, width, requires_grad=True)
        rois = torch.tensor([[0, 1.0, 1.0, 3.0, 3.0]])
        off = torch.randn(1, 2, 2, 2, requires_grad=True)
        out = deform_ps_roi_pool(empty, rois, off, 2)
        assert torch.equal(out, torch.zeros(1, 2, 2, 2))
        out.sum().backward()
        assert torch.equal(off.grad, torch.zeros_like(off))


def test_non_finite_rois_and_offsets_are_safe():
    x = torch.randn(1, 4, 6, 6, requires_grad=True)
    nan, inf = float('nan'), float('inf')
    rois = torch.tensor([[0, nan, 0, 3, 3], [0, 0, -inf, 3, 3], [0, 1, 1, 4, 4],
                         [0, -1e30, -1e30, 1e30, 1e30]])
    offset = torch.zeros(4, 2, 2, 2)
    offset[2, 0] = nan
    offset[3, 1] = 1e30
    out = deform_ps_roi_pool(x, rois, offset.requires_grad_(), 2, 1.0)
    assert torch.equal(out[:3], torch.zeros_like(out[:3]))
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_backward_is_bit_identical_for_any_thread_count():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 5 * 9, 30, 40, generator=g)
    rois = random_rois(g, 100, 2, 30, 40, 0.25).float()
    offset = torch.randn(100, 2 * 5, 3, 3, generator=g)
    grad = torch.randn(100, 5, 3, 3, generator=g)
    op = torch.ops.mmdet_psroi.deform_ps_roi_pool_backward
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2, 3):
            torch.set_num_threads(count)
            results.append(op(grad, x, rois, offset, 0.25, 3, 3, 2, 0.1, *x.shape))
    finally:
        torch.set_num_threads(threads)
    assert results[0][0].abs().sum() > 0 and results[0][1].abs().sum() > 0
    for other in results[1:]:
        assert torch.equal(results[0][0], other[0]) and torch.equal(results[0][1], other[1])


def _args(**bad):
    args = dict(input=torch.randn(1, 8, 5, 5), rois=torch.tensor([[0, 1, 1, 3, 3.0]]),
                offset=torch.zeros(1, 2, 2, 2), output_size=2, spatial_scale=1.0)
    args.update(bad)
    return args


BAD_INPUTS = [
    (dict(input=torch.randn(8, 5, 5)), ValueError, r'input must be 4-D \(N, C, H, W\)'),
    (dict(input=torch.zeros(1, 8, 5, 5, dtype=torch.int64)), TypeError,
     'input must be a floating point'),
    (dict(input=torch.randn(1, 6, 5, 5)), ValueError, r'input channels \(6\) must be divisible'),
    (dict(rois=torch.zeros(1, 4)), ValueError, r'rois must have shape \(K, 5\)'),
    (dict(rois=[torch.zeros(1, 3)]), ValueError, r'rois\[0\] must be a \(L, 4\) tensor'),
    (dict(rois='boxes'), TypeError, r'rois must be a \(K, 5\) tensor or a list'),
    (dict(rois=torch.zeros(1, 5, dtype=torch.int64)), TypeError,
     'rois must be a floating point tensor'),
    (dict(offset=torch.zeros(1, 2, 2)), ValueError, r'offset must be \(K, 2\*G'),
    (dict(offset=torch.zeros(1, 2, 2, 2, dtype=torch.int64)), TypeError,
     'offset must be a floating point tensor'),
    (dict(offset=[0.0]), TypeError, 'offset must be None or a tensor'),
    (dict(offset=torch.zeros(2, 2, 2, 2)), ValueError, 'K = 1 RoIs'),
    (dict(offset=torch.zeros(1, 3, 2, 2)), ValueError, 'G >= 1 groups dividing the 2'),
    (dict(offset=torch.zeros(1, 6, 2, 2)), ValueError, 'G >= 1 groups dividing the 2'),
    (dict(part_size=3), ValueError, r'offset parts \(2, 2\) do not match part_size=\(3, 3\)'),
    (dict(offset=torch.zeros(1, 2, 3, 3)), ValueError,
     r'offset parts \(3, 3\) do not match part_size=\(2, 2\) \(None: output_size\); '
     r'pass part_size=\(3, 3\)'),
    (dict(part_size=0), ValueError, 'part_size must be None, an int > 0'),
    (dict(output_size=0), ValueError, 'output_size must be positive'),
    (dict(spatial_scale=0), ValueError, 'spatial_scale must be finite and > 0'),
    (dict(sample_per_part=0), ValueError, 'sample_per_part must be an int >= 1'),
    (dict(sample_per_part=2.0), ValueError, 'sample_per_part must be an int >= 1'),
    (dict(trans_std=float('nan')), ValueError, 'trans_std must be a finite number'),
    (dict(original='yes'), ValueError, 'original must be True'),
    (dict(rule='caffe'), ValueError, "rule must be 'torchvision' or 'mxnet', got 'caffe'"),
    (dict(rois=torch.tensor([[1, 1, 1, 3, 3.0]])), ValueError,
     r'deform_ps_roi_pool: rois\[0, 0\] = 1.0 is not a batch index'),
    (dict(input=torch.randn(0, 8, 5, 5)), ValueError, r'input has no images \(N = 0\)'),
]


@pytest.mark.parametrize('bad, error, message', BAD_INPUTS)
def test_bad_input_names_the_argument(bad, error, message):
    with pytest.raises(error, match=message):
        deform_ps_roi_pool(**_args(**bad))


def test_raw_op_errors_name_the_argument():
    x, rois, offset = torch.randn(1, 8, 5, 5), torch.tensor([[0, 1, 1, 3, 3.0]]), torch.zeros(
        1, 2, 2, 2)
    op, backward = (torch.ops.mmdet_psroi.deform_ps_roi_pool,
                    torch.ops.mmdet_psroi.deform_ps_roi_pool_backward)
    with pytest.raises(RuntimeError, match='sample_per_part must be > 0'):
        op(x, rois, offset, 1.0, 2, 2, 0, 0.1)
    with pytest.raises(RuntimeError, match='offset must have shape'):
        op(x, rois, offset[:, :1], 1.0, 2, 2, 2, 0.1)
    with pytest.raises(RuntimeError, match=r'grad must have shape \(K, C / \(kh \* kw\), kh, kw\)'):
        backward(torch.zeros(1, 2, 3, 3), x, rois, offset, 1.0, 2, 2, 2, 0.1, *x.shape)
    with pytest.raises(RuntimeError, match='input must have the given sizes'):
        backward(torch.zeros(1, 2, 2, 2), x[:, :4], rois, offset, 1.0, 2, 2, 2, 0.1, *x.shape)
    with pytest.raises(RuntimeError, match="must have grad's dtype"):
        backward(torch.zeros(1, 2, 2, 2), x.double(), rois, offset, 1.0, 2, 2, 2, 0.1, *x.shape)


def test_module_repr_forward_and_fx_trace():
    pool = DeformPSRoIPool(output_size=3, spatial_scale=1 / 16, sample_per_part=2)
    assert repr(pool) == ('DeformPSRoIPool(output_size=(3, 3), spatial_scale=0.0625, '
                          'part_size=(3, 3), sample_per_part=2, trans_std=0.1, '
                          "rule='torchvision')")
    x = torch.randn(1, 2 * 9, 8, 8)
    rois = torch.tensor([[0, 0, 0, 100.0, 90.0]])
    offset = torch.randn(1, 2, 3, 3)
    expected = deform_ps_roi_pool(x, rois, offset, 3, 1 / 16, sample_per_part=2)
    torch.testing.assert_close(pool(x, rois, offset), expected)
    traced = torch.fx.symbolic_trace(pool)
    assert any(node.target is deform_ps_roi_pool for node in traced.graph.nodes)
    torch.testing.assert_close(traced(x, rois, offset), expected)
    with pytest.raises(ValueError, match='part_size'):
        DeformPSRoIPool(3, part_size=(2, 0))
    with pytest.raises(ValueError, match='original must be True'):
        DeformPSRoIPool(3, original=1)


def _inputs(dtype=torch.float64):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 2 * 4, 6, 7, dtype=dtype, generator=g)
    rois = torch.tensor([[0, 0.3, 1.2, 9.1, 10.4], [1, 2.2, 0.1, 12.3, 8.4]], dtype=dtype)
    offset = 0.3 * torch.randn(2, 2, 2, 2, dtype=dtype, generator=g)
    return x, rois, offset


@pytest.mark.skipif(not hasattr(torch.library, 'opcheck'), reason='torch.library.opcheck: 2.4+')
@pytest.mark.parametrize('original', [False, True])
@pytest.mark.parametrize('with_offset', [True, False])
def test_opcheck(with_offset, original):
    x, rois, offset = _inputs()
    if not with_offset:
        offset = offset[:, :0]
    torch.library.opcheck(
        torch.ops.mmdet_psroi.deform_ps_roi_pool,
        (x.requires_grad_(), rois, offset.requires_grad_(), 1.0, 2, 2, 2, 0.1, original))
    grad = torch.randn(2, 2, 2, 2, dtype=torch.float64)
    for input in (x.detach(), None):
        torch.library.opcheck(torch.ops.mmdet_psroi.deform_ps_roi_pool_backward,
                              (grad, input, rois, offset.detach(), 1.0, 2, 2, 2, 0.1, *x.shape,
                               original))


def _head(x, rois, offset):
    return deform_ps_roi_pool(x.relu(), rois, offset * 2, 2, 1.0, sample_per_part=2).mean((2, 3))


def test_torch_compile_fullgraph():
    x, rois, offset = _inputs(torch.float32)
    compiled = torch.compile(_head, fullgraph=True, backend='aot_eager')
    xc, xe = x.clone().requires_grad_(), x.clone().requires_grad_()
    oc, oe = offset.clone().requires_grad_(), offset.clone().requires_grad_()
    out, expected = compiled(xc, rois, oc), _head(xe, rois, oe)
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    expected.sum().backward()
    torch.testing.assert_close(xc.grad, xe.grad)
    torch.testing.assert_close(oc.grad, oe.grad)


def test_double_backward_is_refused():
    x, rois, offset = _inputs()
    x.requires_grad_()
    out = deform_ps_roi_pool(x, rois, offset, 2, 1.0, sample_per_part=2)
    (grad,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='mmdet_psroi::deform_ps_roi_pool: double backward'):
        grad.sum().backward()


# --- original=True: Deformable-ConvNets' kernel -------------------------------------------------
def _original_case(seed, groups, dtype=torch.float64):
    """Square k (the original's only shape); RoIs inside, across and off the map, tiny (below
    the 0.1 minimum after rounding, some with x2 < x1), on halves (rounding away from zero);
    batch 2; a quarter of the offsets exactly 0, so that samples fall on integer coordinates
    (scale 1/2: bin starts on halves, sub-bins of a whole or half pixel)."""
    g = torch.Generator().manual_seed(seed)
    k, parts = [(3, 3), (2, 3), (4, 2), (3, 1)][seed % 4]
    batch, c_out, height, width = 2, 3, 9, 11
    scale = [0.5, 1.0, 0.25, 0.5][seed % 4]
    spp = [2, 3, 4, 1][seed % 4]
    x = torch.randn(batch, c_out * k * k, height, width, dtype=dtype, generator=g)
    rois = random_rois(g, 16, batch, height, width, scale).to(dtype)
    rois[0, 1:] = torch.tensor([2.5, -1.5, 3.5, 0.5])  # halves
    rois[1, 1:] = torch.tensor([6.0, 4.0, 5.2, 3.9])  # x2 < x1: minimum size
    rois[2, 1:] = torch.tensor([2.0, 2.0, 2.0 + 2 * k / scale - 1, 2.0 + 2 * k / scale - 1])
    num_groups = {'none': 0, 'shared': 1, 'per_channel': c_out}[groups]
    offset = None
    if num_groups:
        offset = 0.5 * torch.randn(16, 2 * num_groups, parts, parts, dtype=dtype, generator=g)
        offset[::4] = 0
    return x, rois, offset, k, parts, scale, spp, c_out


@pytest.mark.parametrize('groups', ['none', 'shared', 'per_channel'])
@pytest.mark.parametrize('seed', range(4))
def test_original_matches_deformable_convnets_kernel(groups, seed):
    x, rois, offset, k, parts, scale, spp, c_out = _original_case(seed, groups)
    trans_std = 0.2
    xa = x.clone().requires_grad_()
    oa = None if offset is None else offset.clone().requires_grad_()
    out = deform_ps_roi_pool(xa, rois, oa, k, scale, parts, sample_per_part=spp,
                             trans_std=trans_std, rule='mxnet')
    # MXNet's arguments: output_dim, group_size = pooled_size = k, part_size.
    expected, count = deformable_psroi_pooling_original(x, rois, offset, scale, c_out, k, k,
                                                        parts, spp, trans_std)
    assert (count == 0).any() and (count > 0).any() and expected.abs().sum() > 0
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    grad = torch.randn(out.shape, dtype=torch.float64,
                       generator=torch.Generator().manual_seed(seed))
    out.backward(grad)
    grad_x, grad_offset = deformable_psroi_pooling_original_backward(
        grad, x, rois, offset, scale, c_out, k, k, parts, spp, trans_std)
    torch.testing.assert_close(xa.grad, grad_x, rtol=1e-12, atol=1e-12)
    if offset is not None:
        assert grad_offset.abs().sum() > 0
        torch.testing.assert_close(oa.grad, grad_offset, rtol=1e-10, atol=1e-10)


def test_original_offset_gradient_on_integer_coordinates_is_the_kernels():
    """Zero offsets (a freshly initialised head) put these samples on whole pixels: the kernel's
    floor/ceil interpolation gives no offset gradient along such a coordinate, so its gradient
    is not the one-sided slope a step to the right measures."""
    g = torch.Generator().manual_seed(11)
    x = torch.randn(1, 2 * 9, 12, 12, dtype=torch.float64, generator=g)
    # scale 1/2: start = 2 * 0.5 - 0.5 = 0.5, size (11 + 1) * 0.5 = 6, bins of 2, samples at
    # 0.5, 1, 1.5, ... (every other one on a whole pixel).
    rois = torch.tensor([[0, 2.0, 2.0, 13.0, 13.0]], dtype=torch.float64)
    offset = torch.zeros(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    out = deform_ps_roi_pool(x, rois, offset, 3, 0.5, sample_per_part=4, rule='mxnet')
    grad = torch.randn(out.shape, dtype=torch.float64, generator=g)
    out.backward(grad)
    _, expected = deformable_psroi_pooling_original_backward(grad, x, rois, offset.detach(), 0.5,
                                                             2, 3, 3, 3, 4, 0.1)
    torch.testing.assert_close(offset.grad, expected, rtol=1e-12, atol=1e-12)
    for axis in (0, 1):
        step = torch.zeros_like(offset.detach())
        step[:, axis] = 1e-7
        moved = deform_ps_roi_pool(x, rois, step, 3, 0.5, sample_per_part=4, rule='mxnet')
        slope = ((moved - out.detach()) * grad).sum() / 1e-7
        assert abs(slope - offset.grad[:, axis].sum()) > 0.1


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
def test_original_in_reduced_precision(dtype):
    x, rois, offset, k, parts, scale, spp, c_out = _original_case(1, 'shared', torch.float32)
    expected, _ = deformable_psroi_pooling_original(x, rois, offset, scale, c_out, k, k, parts,
                                                    spp, 0.1)
    out = deform_ps_roi_pool(x.to(dtype), rois, offset, k, scale, parts, sample_per_part=spp,
                             rule='mxnet')
    tol = {torch.float32: 1e-5, torch.float16: 2e-2}[dtype]
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), expected, rtol=tol, atol=tol)


def test_original_moves_samples_by_the_kernels_rule():
    """An RoI on whole pixels at scale 1: the original's samples are the default's moved by
    -0.5 px (corner sub-bin samples) and its RoI is 1 px wider (+1), so they differ; a module
    with rule='mxnet' pools as the function does."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 9, 16, 16, dtype=torch.float64, generator=g)
    rois = torch.tensor([[0, 3.0, 4.0, 11.0, 10.0]], dtype=torch.float64)
    default = deform_ps_roi_pool(x, rois, None, 3, sample_per_part=2)
    original = deform_ps_roi_pool(x, rois, None, 3, sample_per_part=2, rule='mxnet')
    assert not torch.allclose(default, original)
    expected, _ = deformable_psroi_pooling_original(x, rois, None, 1.0, 1, 3, 3, 3, 2, 0.1)
    torch.testing.assert_close(original, expected, rtol=1e-12, atol=1e-12)
    pool = DeformPSRoIPool(3, sample_per_part=2, rule='mxnet')
    assert "rule='mxnet'" in repr(pool)
    torch.testing.assert_close(pool(x, rois), original, rtol=0, atol=0)


# --- Python side: RoIs, parts, devices, what autograd keeps ---------------------------------------
@pytest.mark.parametrize('rule', DEFORM_RULES)
def test_list_of_boxes_equals_roi_tensor(rule):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 8, 8, 8, generator=g)
    boxes = [torch.tensor([[1.0, 1.0, 5.0, 6.0]]), torch.tensor([[0.0, 2.0, 7.0, 7.0],
                                                                 [3.0, 3.0, 4.0, 4.0]])]
    rois = torch.tensor([[0, 1.0, 1.0, 5.0, 6.0], [1, 0.0, 2.0, 7.0, 7.0], [1, 3.0, 3.0, 4.0, 4.0]])
    offset = 0.3 * torch.randn(3, 2, 2, 2, generator=g)
    torch.testing.assert_close(
        deform_ps_roi_pool(x, boxes, offset, 2, sample_per_part=2, rule=rule),
        deform_ps_roi_pool(x, rois, offset, 2, sample_per_part=2, rule=rule),
        rtol=0, atol=0)
    assert deform_ps_roi_pool(x, [], None, 2).shape == (0, 2, 2, 2)


def test_part_size_none_is_output_size():
    """None means one part per bin (Deformable-ConvNets' part_size=0): the function and the
    module resolve it alike, and other part counts must be named."""
    g = torch.Generator().manual_seed(6)
    x = torch.randn(1, 2 * 9, 10, 10, generator=g)
    rois = torch.tensor([[0, 1.0, 1.0, 8.0, 9.0]])
    offset = 0.3 * torch.randn(1, 2, 3, 3, generator=g)
    assert DeformPSRoIPool(3).part_size == (3, 3)
    torch.testing.assert_close(deform_ps_roi_pool(x, rois, offset, 3),
                               DeformPSRoIPool(3)(x, rois, offset), rtol=0, atol=0)
    torch.testing.assert_close(deform_ps_roi_pool(x, rois, offset, 3),
                               deform_ps_roi_pool(x, rois, offset, 3, part_size=3), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r'pass part_size=\(1, 1\)'):
        DeformPSRoIPool(3)(x, rois, offset[:, :, :1, :1])
    out = DeformPSRoIPool(3, part_size=1)(x, rois, offset[:, :, :1, :1])
    assert out.shape == (1, 2, 3, 3)


def test_wrapper_runs_the_device_support_check(monkeypatch):
    seen = []
    monkeypatch.setattr(mmdet_psroi.ops.ps_roi, 'check_device_supported',
                        lambda name, device: seen.append((name, device)))
    deform_ps_roi_pool(*_inputs()[:2], None, 2)
    assert seen == [('deform_ps_roi_pool', torch.device('cpu'))]


def test_device_support_check_names_the_op_and_the_fix():
    if torch._C._dispatch_has_kernel_for_dispatch_key('mmdet_psroi::deform_ps_roi_pool', 'CUDA'):
        pytest.skip('this build has CUDA kernels')
    with pytest.raises(RuntimeError,
                       match='deform_ps_roi_pool: got a CUDA tensor, but .* built without CUDA '
                             'kernels.*FORCE_CUDA=1'):
        check_device_supported('deform_ps_roi_pool', torch.device('cuda', 0))


def _saved(fn):
    """The tensors autograd keeps for the backward of fn()."""
    saved = []

    def pack(tensor):
        saved.append(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = fn()
    return out, saved


@pytest.mark.parametrize('offset_case', ['none', 'no_grad', 'grad'])
def test_autograd_keeps_the_map_only_for_the_offset_gradient(offset_case):
    x, rois, offset = _inputs()
    x.requires_grad_()
    offset = {'none': None, 'no_grad': offset, 'grad': offset}[offset_case]
    if offset_case == 'grad':
        offset.requires_grad_()
    out, saved = _saved(lambda: deform_ps_roi_pool(x, rois, offset, 2, sample_per_part=2))
    keeps_map = any(t.data_ptr() == x.data_ptr() and t.shape == x.shape for t in saved)
    assert keeps_map == (offset_case == 'grad')
    out.backward(torch.ones_like(out))
    expected = x.detach().clone().requires_grad_()
    full = None if offset is None else offset.detach().clone().requires_grad_()
    deform_ps_roi_pool(expected, rois, full, 2, sample_per_part=2).backward(torch.ones_like(out))
    torch.testing.assert_close(x.grad, expected.grad, rtol=0, atol=0)
    if offset_case == 'grad':
        torch.testing.assert_close(offset.grad, full.grad, rtol=0, atol=0)
