"""Behaviour of deform_ps_roi_pool against the pure-PyTorch reference, ps_roi_align, and its
edges."""
import pytest
import torch

from mmdet_psroi.ops import DeformPSRoIPool, deform_ps_roi_pool, ps_roi_align
from tests.ops.reference_deform import deform_ps_roi_pool_reference
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
    return x, rois, offset, (kh, kw), scale, spp


@pytest.mark.parametrize('groups', ['none', 'shared', 'per_channel'])
@pytest.mark.parametrize('seed', range(4))
def test_forward_and_backward_match_reference(groups, seed):
    x, rois, offset, size, scale, spp = _case(seed, groups)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    oa = ob = None
    if offset is not None:
        oa, ob = offset.clone().requires_grad_(), offset.clone().requires_grad_()
    out = deform_ps_roi_pool(xa, rois, oa, size, scale, sample_per_part=spp, trans_std=0.3)
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
        lambda t, o: deform_ps_roi_pool(t, rois, o, (3, 2), 0.5, sample_per_part=2), (x, offset))


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
    base = deform_ps_roi_pool(x, rois, offset, k, 1.0, sample_per_part=2)
    # Group 1 (channels 2, 3), part (0, 1) (bins i < 2, j >= 2): only those outputs move.
    changed = offset.clone()
    changed[0, 2:4, 0, 1] += 0.2
    moved = deform_ps_roi_pool(x, rois, changed, k, 1.0, sample_per_part=2)
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
    op = torch.ops.mmdet_psroi._deform_ps_roi_pool_backward
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2, 3):
            torch.set_num_threads(count)
            results.append(op(grad, x, rois, offset, 0.25, 3, 3, 2, 0.1))
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
    (dict(input=torch.randn(8, 5, 5)), ValueError, r'input must be \(N, C, H, W\)'),
    (dict(input=torch.zeros(1, 8, 5, 5, dtype=torch.int64)), TypeError,
     'input must be a floating point'),
    (dict(input=torch.randn(1, 6, 5, 5)), ValueError, r'input channels \(6\) must be divisible'),
    (dict(rois=torch.zeros(1, 4)), ValueError, r'rois must have shape \(K, 5\)'),
    (dict(rois=[torch.zeros(1, 4)]), TypeError, 'rois must be a tensor'),
    (dict(offset=torch.zeros(1, 2, 2)), ValueError, r'offset must be \(K, 2\*G'),
    (dict(offset=torch.zeros(2, 2, 2, 2)), ValueError, 'K = 1 RoIs'),
    (dict(offset=torch.zeros(1, 3, 2, 2)), ValueError, 'G >= 1 groups dividing the 2'),
    (dict(offset=torch.zeros(1, 6, 2, 2)), ValueError, 'G >= 1 groups dividing the 2'),
    (dict(part_size=3), ValueError, r'offset parts \(2, 2\) do not match part_size=\(3, 3\)'),
    (dict(part_size=0), ValueError, 'part_size must be None, an int > 0'),
    (dict(output_size=0), ValueError, 'output_size must be positive'),
    (dict(spatial_scale=0), ValueError, 'spatial_scale must be finite and > 0'),
    (dict(sample_per_part=0), ValueError, 'sample_per_part must be an int >= 1'),
    (dict(sample_per_part=2.0), ValueError, 'sample_per_part must be an int >= 1'),
    (dict(trans_std=float('nan')), ValueError, 'trans_std must be a finite number'),
    (dict(rois=torch.tensor([[1, 1, 1, 3, 3.0]])), RuntimeError,
     r'rois\[0, 0\] = 1 is not a batch index'),
]


@pytest.mark.parametrize('bad, error, message', BAD_INPUTS)
def test_bad_input_names_the_argument(bad, error, message):
    with pytest.raises(error, match=message):
        deform_ps_roi_pool(**_args(**bad))


def test_module_repr_forward_and_fx_trace():
    pool = DeformPSRoIPool(output_size=3, spatial_scale=1 / 16, sample_per_part=2)
    assert repr(pool) == ('DeformPSRoIPool(output_size=(3, 3), spatial_scale=0.0625, '
                          'part_size=(3, 3), sample_per_part=2, trans_std=0.1)')
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


def _inputs(dtype=torch.float64):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 2 * 4, 6, 7, dtype=dtype, generator=g)
    rois = torch.tensor([[0, 0.3, 1.2, 9.1, 10.4], [1, 2.2, 0.1, 12.3, 8.4]], dtype=dtype)
    offset = 0.3 * torch.randn(2, 2, 2, 2, dtype=dtype, generator=g)
    return x, rois, offset


@pytest.mark.skipif(not hasattr(torch.library, 'opcheck'), reason='torch.library.opcheck: 2.4+')
@pytest.mark.parametrize('with_offset', [True, False])
def test_opcheck(with_offset):
    x, rois, offset = _inputs()
    if not with_offset:
        offset = offset[:, :0]
    torch.library.opcheck(torch.ops.mmdet_psroi.deform_ps_roi_pool,
                          (x.requires_grad_(), rois, offset.requires_grad_(), 1.0, 2, 2, 2, 0.1))


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
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='double backward'):
        grad.sum().backward()
