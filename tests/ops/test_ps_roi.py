"""Behaviour of ps_roi_pool / ps_roi_align against the pure-PyTorch reference, and their edges."""
import math

import pytest
import torch

from mmdet_psroi.ops import PSRoIAlign, PSRoIPool, ps_roi_align, ps_roi_pool
from tests.ops.reference import ps_roi_align_reference, ps_roi_pool_reference

OPS = {
    'pool': (ps_roi_pool, lambda x, r, size, scale: ps_roi_pool_reference(x, r, size, scale)),
    'align': (lambda x, r, size, scale: ps_roi_align(x, r, size, scale, sampling_ratio=2),
              lambda x, r, size, scale: ps_roi_align_reference(x, r, size, scale, 2)),
    'align_adaptive': (lambda x, r, size, scale: ps_roi_align(x, r, size, scale, -1),
                       lambda x, r, size, scale: ps_roi_align_reference(x, r, size, scale, -1)),
}


def random_rois(generator, num, batch, height, width, scale):
    """RoIs inside, across and fully outside the map; tiny and huge ones."""
    img_h, img_w = height / scale, width / scale
    x1 = torch.rand(num, generator=generator) * img_w * 1.4 - 0.2 * img_w
    y1 = torch.rand(num, generator=generator) * img_h * 1.4 - 0.2 * img_h
    size = torch.rand(num, 2, generator=generator) ** 3 * torch.tensor([img_w, img_h]) * 2
    size[: num // 8] = 0.3  # tiny
    batch_index = torch.randint(0, batch, (num,), generator=generator).double()
    return torch.stack([batch_index, x1, y1, x1 + size[:, 0], y1 + size[:, 1]], dim=1)


@pytest.mark.parametrize('op', sorted(OPS))
@pytest.mark.parametrize('seed', range(6))
def test_forward_and_backward_match_reference(op, seed):
    ours, reference = OPS[op]
    g = torch.Generator().manual_seed(seed)
    kh, kw = (int(v) for v in torch.randint(1, 8, (2,), generator=g))
    if seed % 3 == 0:
        kw = kh
    batch, c_out = (int(v) for v in torch.randint(1, 4, (2,), generator=g))
    height, width = (int(v) for v in torch.randint(5, 20, (2,), generator=g))
    scale = [1.0, 0.5, 0.25][seed % 3]
    x = torch.randn(batch, c_out * kh * kw, height, width, dtype=torch.float64, generator=g)
    rois = random_rois(g, 12, batch, height, width, scale)

    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = ours(xa, rois, (kh, kw), scale), reference(xb, rois, (kh, kw), scale)
    assert out.shape == (12, c_out, kh, kw)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    grad = torch.randn(out.shape, dtype=torch.float64, generator=g)
    out.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('op', sorted(OPS))
def test_gradcheck(op):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2 * 3 * 2, 7, 9, dtype=torch.float64, generator=g, requires_grad=True)
    # Coordinates away from .5 multiples so that quantisation does not sit on a tie.
    rois = torch.tensor([[0, 1.1, 2.2, 13.3, 11.1], [1, -3.3, 4.1, 9.2, 30.3],
                         [1, 6.2, 5.3, 17.1, 13.2]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: ours(t, rois, (3, 2), 0.5), (x,))


def test_pool_reads_the_last_row_and_column():
    """Bins are clipped to [0, H] x [0, W]: a RoI at the bottom-right corner pools it."""
    x = torch.arange(1 * 4 * 4 * 5, dtype=torch.float32).reshape(1, 4, 4, 5)
    rois = torch.tensor([[0, 3.0, 2.0, 5.0, 4.0]])  # columns 3..4, rows 2..3, the last ones
    out = ps_roi_pool(x, rois, 2)
    for c in range(4):  # k=2: channel (i*2+j) for bin (i, j), each a single pixel
        i, j = divmod(c, 2)
        assert out[0, 0, i, j] == x[0, c, 2 + i, 3 + j]


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize('op', sorted(OPS))
def test_reduced_precision_accumulates_in_float(op, dtype):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3 * 9, 12, 14, generator=g)
    rois = random_rois(g, 10, 2, 12, 14, 0.5).float()
    expected = ours(x.double(), rois.double(), 3, 0.5)
    xd = x.to(dtype).requires_grad_()
    out = ours(xd, rois.to(dtype), 3, 0.5)
    assert out.dtype == dtype
    tol = {torch.float32: 1e-5, torch.float16: 2e-2, torch.bfloat16: 6e-2}[dtype]
    torch.testing.assert_close(out.double(), expected, rtol=tol, atol=tol)
    out.sum().backward()
    assert xd.grad.dtype == dtype and torch.isfinite(xd.grad.float()).all()


@pytest.mark.parametrize('op', sorted(OPS))
def test_empty_rois_give_empty_output_and_zero_grad(op):
    ours, _ = OPS[op]
    x = torch.randn(1, 2 * 4, 5, 5, requires_grad=True)
    out = ours(x, torch.zeros(0, 5), 2, 1.0)
    assert out.shape == (0, 2, 2, 2)
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize('op', sorted(OPS))
def test_any_strides(op):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 2 * 4, 9, 11, generator=g)
    rois = random_rois(g, 8, 2, 9, 11, 1.0).float()
    expected = ours(x, rois, 2, 1.0)
    channels_last = x.to(memory_format=torch.channels_last)
    transposed = x.transpose(2, 3).contiguous().transpose(2, 3)
    strided_rois = torch.stack([rois, rois], dim=2).reshape(8, 10)[:, ::2]
    assert not strided_rois.is_contiguous()
    for variant, r in [(channels_last, rois), (transposed, rois), (x, strided_rois)]:
        torch.testing.assert_close(ours(variant, r, 2, 1.0), expected, rtol=0, atol=0)


@pytest.mark.parametrize('op', sorted(OPS))
def test_list_of_boxes_equals_roi_tensor(op):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 8, 8, generator=g)
    boxes = [torch.tensor([[1.0, 1.0, 5.0, 6.0]]), torch.tensor([[0.0, 2.0, 7.0, 7.0],
                                                                 [3.0, 3.0, 4.0, 4.0]])]
    rois = torch.tensor([[0, 1.0, 1.0, 5.0, 6.0], [1, 0.0, 2.0, 7.0, 7.0], [1, 3.0, 3.0, 4.0, 4.0]])
    torch.testing.assert_close(ours(x, boxes, 2, 1.0), ours(x, rois, 2, 1.0))


@pytest.mark.parametrize('op', sorted(OPS))
def test_non_finite_and_huge_rois_are_safe(op):
    ours, _ = OPS[op]
    x = torch.randn(1, 4, 6, 6, requires_grad=True)
    nan, inf = float('nan'), float('inf')
    rois = torch.tensor([[0, nan, 0, 3, 3], [0, 0, -inf, 3, 3], [0, 0, 0, inf, inf],
                         [nan, 0, 0, 3, 3], [0, -1e30, -1e30, 1e30, 1e30]])
    if op == 'align_adaptive':  # the huge RoI is refused there, see the next test
        rois = rois[:4]
    out = ours(x, rois, 2, 1.0)
    assert torch.equal(out[:4], torch.zeros_like(out[:4]))
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_huge_roi_with_adaptive_sampling_is_refused_not_hanging():
    x = torch.randn(1, 4, 6, 6)
    rois = torch.tensor([[0, 0, 0, 1e12, 1e12]])
    with pytest.raises(ValueError, match='sampling_ratio'):
        ps_roi_align(x, rois, 2, 1.0, sampling_ratio=-1)
    with pytest.raises(RuntimeError, match='sampling_ratio'):
        torch.ops.mmdet_psroi.ps_roi_align(x, rois, 1.0, 2, 2, -1)
    assert ps_roi_align(x, rois, 2, 1.0, sampling_ratio=2).shape == (1, 1, 2, 2)


@pytest.mark.parametrize('op_name', ['ps_roi_pool', 'ps_roi_align'])
def test_backward_is_bit_identical_for_any_thread_count(op_name):
    g = torch.Generator().manual_seed(4)
    rois = random_rois(g, 200, 2, 30, 40, 0.25).float()
    grad = torch.randn(200, 5, 3, 3, generator=g)
    op = getattr(torch.ops.mmdet_psroi, op_name + '_backward')
    extra = (2,) if op_name == 'ps_roi_align' else ()
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2, 3):
            torch.set_num_threads(count)
            results.append(op(grad, rois, 0.25, 3, 3, *extra, 2, 45, 30, 40))
    finally:
        torch.set_num_threads(threads)
    assert results[0].abs().sum() > 0
    for other in results[1:]:
        assert torch.equal(results[0], other)


BAD_INPUTS = [
    (dict(input=torch.randn(4, 5, 5)), ValueError, r'input must be 4-D \(N, C, H, W\)'),
    (dict(input=torch.randn(1, 5, 5, 5)), ValueError,
     r'input channels \(5\) must be divisible by kh\*kw'),
    (dict(input=torch.zeros(1, 4, 5, 5, dtype=torch.int64)), TypeError, 'floating point'),
    (dict(rois=torch.zeros(3, 4)), ValueError, r'rois must have shape \(K, 5\)'),
    (dict(rois=[torch.zeros(3, 5)]), ValueError, r'rois\[0\] must be a \(L, 4\) tensor'),
    (dict(rois='boxes'), TypeError, 'rois must be a'),
    (dict(rois=torch.zeros(2, 5, dtype=torch.float64)), TypeError,
     'rois dtype .* must match input dtype'),
    (dict(rois=torch.tensor([[0, 1, 1, 3, 3], [2, 1, 1, 3, 3.0]])), ValueError,
     r'rois\[1, 0\] = 2.0 is not a batch index of input \(expected 0 <= index < 1\)'),
    (dict(rois=torch.tensor([[-1, 1, 1, 3, 3.0]])), ValueError,
     r'rois\[0, 0\] = -1.0 is not a batch index'),
    (dict(output_size=0), ValueError, 'output_size must be positive'),
    (dict(output_size=(2, -1)), ValueError, 'output_size must be positive'),
    (dict(output_size=(2, 2, 2)), ValueError, 'output_size must be an int or a pair'),
    (dict(output_size=2.0), ValueError, 'output_size must be an int or a pair'),
    (dict(spatial_scale=0), ValueError, 'spatial_scale must be finite and > 0'),
    (dict(spatial_scale=-0.5), ValueError, 'spatial_scale must be finite and > 0'),
    (dict(spatial_scale=float('nan')), ValueError, 'spatial_scale must be finite and > 0'),
]


@pytest.mark.parametrize('op', [ps_roi_pool, ps_roi_align])
@pytest.mark.parametrize('bad, error, message', BAD_INPUTS)
def test_bad_input_names_the_argument(op, bad, error, message):
    args = dict(input=torch.randn(1, 4, 5, 5), rois=torch.tensor([[0, 1, 1, 3, 3.0]]),
                output_size=2, spatial_scale=1.0)
    args.update(bad)
    with pytest.raises(error, match=message):
        op(**args)


@pytest.mark.parametrize('sampling_ratio', [-2, 1.5, True])
def test_bad_sampling_ratio(sampling_ratio):
    with pytest.raises(ValueError, match='sampling_ratio must be an int >= -1'):
        ps_roi_align(torch.randn(1, 4, 5, 5), torch.zeros(1, 5), 2, 1.0, sampling_ratio)
    with pytest.raises(ValueError, match='sampling_ratio must be an int >= -1'):
        PSRoIAlign(2, 1.0, sampling_ratio)


def test_raw_op_refuses_bad_batch_index():
    with pytest.raises(RuntimeError, match=r'rois\[0, 0\] = 3 is not a batch index'):
        torch.ops.mmdet_psroi.ps_roi_pool(torch.randn(1, 4, 5, 5),
                                          torch.tensor([[3, 1, 1, 3, 3.0]]), 1.0, 2, 2)


def test_modules_repr_and_forward():
    pool = PSRoIPool(output_size=7, spatial_scale=1 / 16)
    align = PSRoIAlign(output_size=(3, 5), spatial_scale=0.0625, sampling_ratio=2)
    assert repr(pool) == 'PSRoIPool(output_size=(7, 7), spatial_scale=0.0625)'
    assert repr(align) == 'PSRoIAlign(output_size=(3, 5), spatial_scale=0.0625, sampling_ratio=2)'
    x = torch.randn(1, 2 * 15, 8, 8)
    rois = torch.tensor([[0, 0, 0, 100.0, 90.0]])
    torch.testing.assert_close(align(x, rois), ps_roi_align(x, rois, (3, 5), 0.0625, 2))
    with pytest.raises(ValueError, match='spatial_scale'):
        PSRoIPool(7, spatial_scale=0)


def _inputs(dtype=torch.float64):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 2 * 4, 6, 7, dtype=dtype, generator=g)
    rois = torch.tensor([[0, 0.3, 1.2, 9.1, 10.4], [1, 2.2, 0.1, 12.3, 8.4]], dtype=dtype)
    return x, rois


@pytest.mark.parametrize('name, args', [('ps_roi_pool', (1.0, 2, 2)),
                                        ('ps_roi_align', (1.0, 2, 2, 2)),
                                        ('ps_roi_align', (0.5, 2, 2, -1))])
def test_opcheck(name, args):
    x, rois = _inputs()
    torch.library.opcheck(getattr(torch.ops.mmdet_psroi, name),
                          (x.requires_grad_(), rois) + args)


@pytest.mark.parametrize('name, args', [('ps_roi_pool_backward', (1.0, 2, 2, 2, 8, 6, 7)),
                                        ('ps_roi_align_backward', (1.0, 2, 2, 2, 2, 8, 6, 7))])
def test_opcheck_backward_ops(name, args):
    _, rois = _inputs()
    grad = torch.randn(2, 2, 2, 2, dtype=torch.float64)
    torch.library.opcheck(getattr(torch.ops.mmdet_psroi, name), (grad, rois) + args,
                          test_utils=('test_schema', 'test_faketensor'))


def _head(x, rois):
    return ps_roi_align(x.relu(), rois, 2, 1.0, 2).mean(dim=(2, 3)) + ps_roi_pool(x, rois, 2)


def test_torch_compile_fullgraph():
    x, rois = _inputs(torch.float32)
    compiled = torch.compile(_head, fullgraph=True, backend='aot_eager')
    xc, xe = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = compiled(xc, rois)
    expected = _head(xe, rois)
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    expected.sum().backward()
    torch.testing.assert_close(xc.grad, xe.grad)


def test_torch_export():
    class Head(torch.nn.Module):
        def forward(self, x, rois):
            return _head(x, rois)

    x, rois = _inputs(torch.float32)
    exported = torch.export.export(Head(), (x, rois))
    names = {str(node.target) for node in exported.graph.nodes}
    assert 'mmdet_psroi.ps_roi_align.default' in names
    torch.testing.assert_close(exported.module()(x, rois), _head(x, rois))


def test_nan_sample_does_not_propagate_into_output():
    """A RoI that yields no valid sample pools exactly 0, never NaN."""
    x = torch.randn(1, 4, 5, 5)
    degenerate = torch.tensor([[0, 4.0, 4.0, 1.0, 1.0]])  # x2 < x1
    out = ps_roi_align(x, degenerate, 2, 1.0, -1)
    assert torch.equal(out, torch.zeros_like(out))
    assert not math.isnan(float(ps_roi_pool(x, degenerate, 2).sum()))
