"""Behaviour of ps_roi_pool / ps_roi_align against the pure-PyTorch reference, and their edges.

Tests that take ``device`` run on the CPU and on CUDA where a GPU is visible (conftest.py).
"""
import math
import operator

import pytest
import torch

from mmdet_psroi.ops import PSRoIAlign, PSRoIPool, ps_roi, ps_roi_align, ps_roi_pool
from mmdet_psroi.ops.ps_roi import check_device_supported
from tests.ops.devices import requires_torch
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


def random_case(seed, scales=(1.0, 0.5, 0.25)):
    """(x, rois, (kh, kw), scale, generator) of a random float64 case: kh, kw in 1..7 (square
    for seeds divisible by 3), batch 1..3, 1..3 output channels, a 5..19 x 5..19 map, 12
    random_rois; the generator continues for the caller's further draws."""
    g = torch.Generator().manual_seed(seed)
    kh, kw = (int(v) for v in torch.randint(1, 8, (2,), generator=g))
    if seed % 3 == 0:
        kw = kh
    batch, c_out = (int(v) for v in torch.randint(1, 4, (2,), generator=g))
    height, width = (int(v) for v in torch.randint(5, 20, (2,), generator=g))
    scale = scales[seed % len(scales)]
    x = torch.randn(batch, c_out * kh * kw, height, width, dtype=torch.float64, generator=g)
    return x, random_rois(g, 12, batch, height, width, scale), (kh, kw), scale, g


@pytest.mark.parametrize('op', sorted(OPS))
@pytest.mark.parametrize('seed', range(6))
def test_forward_and_backward_match_reference(op, seed, device):
    ours, reference = OPS[op]
    x, rois, (kh, kw), scale, g = random_case(seed)
    c_out = x.size(1) // (kh * kw)

    xa, xb = x.to(device, copy=True).requires_grad_(), x.clone().requires_grad_()
    out = ours(xa, rois.to(device), (kh, kw), scale)
    expected = reference(xb, rois, (kh, kw), scale)
    assert out.shape == (12, c_out, kh, kw) and out.device == xa.device
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-10, atol=1e-10)
    grad = torch.randn(out.shape, dtype=torch.float64, generator=g)
    out.backward(grad.to(device))
    expected.backward(grad)
    torch.testing.assert_close(xa.grad.cpu(), xb.grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('op', sorted(OPS))
def test_gradcheck(op, device):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2 * 3 * 2, 7, 9, dtype=torch.float64, generator=g).to(device)
    # Coordinates away from .5 multiples so that quantisation does not sit on a tie.
    rois = torch.tensor([[0, 1.1, 2.2, 13.3, 11.1], [1, -3.3, 4.1, 9.2, 30.3],
                         [1, 6.2, 5.3, 17.1, 13.2]], dtype=torch.float64, device=device)
    assert torch.autograd.gradcheck(lambda t: ours(t, rois, (3, 2), 0.5),
                                    (x.requires_grad_(),))


def test_pool_reads_the_last_row_and_column(device):
    """Bins are clipped to [0, H] x [0, W]: a RoI at the bottom-right corner pools it."""
    x = torch.arange(1 * 4 * 4 * 5, dtype=torch.float32, device=device).reshape(1, 4, 4, 5)
    rois = torch.tensor([[0, 3.0, 2.0, 5.0, 4.0]], device=device)  # columns 3..4, rows 2..3
    out = ps_roi_pool(x, rois, 2)
    for c in range(4):  # k=2: channel (i*2+j) for bin (i, j), each a single pixel
        i, j = divmod(c, 2)
        assert out[0, 0, i, j] == x[0, c, 2 + i, 3 + j]


REDUCED = [torch.float16, torch.bfloat16]
# Reduced-precision output vs the float64 op: one rounding of the output (2^-11 for half,
# 2^-8 for bfloat16, relative) plus the rounding of the input map itself.
TOLERANCE = {torch.float32: 1e-5, torch.float16: 2e-2, torch.bfloat16: 6e-2}


@pytest.mark.parametrize('dtype', [torch.float32] + REDUCED)
@pytest.mark.parametrize('op', sorted(OPS))
def test_reduced_precision_accumulates_in_float(op, dtype, device):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3 * 9, 12, 14, generator=g)
    rois = random_rois(g, 10, 2, 12, 14, 0.5).float()
    expected = ours(x.double(), rois.double(), 3, 0.5)
    xd = x.to(device, dtype).requires_grad_()
    out = ours(xd, rois.to(device), 3, 0.5)  # float32 RoIs whatever the map's dtype
    assert out.dtype == dtype
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(out.cpu().double(), expected, rtol=tol, atol=tol)
    out.sum().backward()
    assert xd.grad.dtype == dtype and torch.isfinite(xd.grad.float()).all()


@pytest.mark.parametrize('dtype', REDUCED)
@pytest.mark.parametrize('op', sorted(OPS))
def test_half_map_reads_float32_rois_as_float32(op, dtype, device):
    """A half/bfloat16 map with float32 RoIs computes exactly what the float32 op computes on
    the same map values, rounded once: the RoI coordinates are not rounded to the map's dtype
    (in bfloat16, x in [512, 1024) would snap to steps of 4 pixels)."""
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 2 * 4, 40, 70, generator=g).to(device, dtype)
    rois = random_rois(g, 16, 2, 40, 70, 1 / 16).float().to(device)
    rois[:, 1], rois[:, 3] = 727.9, 1000.7  # bfloat16 rounds them to 728 and 1000
    xr, xf = x.clone().requires_grad_(), x.float().requires_grad_()
    out, out_float = ours(xr, rois, 2, 1 / 16), ours(xf, rois, 2, 1 / 16)
    assert out.dtype == dtype and out.abs().sum() > 0
    grad = torch.randn(out.shape, generator=g).to(device, dtype)
    out.backward(grad)
    out_float.backward(grad.float())
    # CUDA accumulates the gradient with atomics, in varying order: one rounding apart.
    tol = dict(rtol=0, atol=0) if device.type == 'cpu' else dict(rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(out, out_float.to(dtype), **tol)
    torch.testing.assert_close(xr.grad, xf.grad.to(dtype), **tol)
    if dtype == torch.bfloat16:
        assert not torch.equal(ours(x, rois.to(dtype), 2, 1 / 16), out)


@pytest.mark.parametrize('op', sorted(OPS))
def test_rois_may_have_another_floating_dtype_than_the_map(op, device):
    ours, _ = OPS[op]
    x, rois = _inputs(torch.float32, device)
    torch.testing.assert_close(ours(x, rois.double(), 2, 1.0), ours(x, rois, 2, 1.0),
                               rtol=0, atol=0)


@pytest.mark.parametrize('op', sorted(OPS))
def test_empty_rois_give_empty_output_and_zero_grad(op, device):
    ours, _ = OPS[op]
    x = torch.randn(1, 2 * 4, 5, 5, device=device, requires_grad=True)
    out = ours(x, torch.zeros(0, 5, device=device), 2, 1.0)
    assert out.shape == (0, 2, 2, 2)
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


EMPTY_MAPS = {  # input shape, number of RoIs
    'N=0, K=0': ((0, 8, 5, 5), 0),
    'C=0': ((2, 0, 5, 5), 3),
    'H=0': ((2, 8, 0, 5), 3),
    'W=0': ((2, 8, 5, 0), 3),
    'H=W=0': ((1, 8, 0, 0), 3),
}


@pytest.mark.parametrize('case', sorted(EMPTY_MAPS))
@pytest.mark.parametrize('op', sorted(OPS))
def test_empty_dimensions_give_zeros(op, case, device):
    """A map with no pixels pools 0 for every RoI (as a bin off the map does); no channels
    give (K, 0, kh, kw); the gradient is zero and has the input's shape."""
    ours, _ = OPS[op]
    shape, num_rois = EMPTY_MAPS[case]
    x = torch.randn(shape, device=device, requires_grad=True)
    rois = torch.tensor([[0, 1.0, 1.0, 4.0, 4.0], [1, -2.0, 0.0, 9.0, 3.0],
                         [0, 0.0, 0.0, 0.0, 0.0]], device=device)[:num_rois]
    rois[:, 0] = rois[:, 0].clamp(max=max(shape[0] - 1, 0))
    out = ours(x, rois, 2, 1.0)
    assert out.shape == (num_rois, shape[1] // 4, 2, 2)
    assert torch.equal(out, torch.zeros_like(out))
    out.sum().backward()
    assert x.grad.shape == shape and not x.grad.any()


@pytest.mark.parametrize('case', sorted(EMPTY_MAPS))
@pytest.mark.parametrize('name, extra', [('ps_roi_pool', ()), ('ps_roi_align', (2,)),
                                         ('ps_roi_align', (-1,))])
def test_raw_ops_on_empty_dimensions(name, extra, case, device):
    """The compiled ops themselves (no Python checks) are safe on empty maps."""
    shape, num_rois = EMPTY_MAPS[case]
    rois = torch.tensor([[0, 1.0, 1.0, 4.0, 4.0]] * num_rois, device=device).reshape(-1, 5)
    forward = getattr(torch.ops.mmdet_psroi, name)
    backward = getattr(torch.ops.mmdet_psroi, name + '_backward')
    out = forward(torch.randn(shape, device=device), rois, 1.0, 2, 2, *extra)
    assert out.shape == (num_rois, shape[1] // 4, 2, 2) and not out.any()
    grad = backward(torch.ones_like(out), rois, 1.0, 2, 2, *extra, *shape)
    assert grad.shape == shape and not grad.any()


@pytest.mark.parametrize('op', [ps_roi_pool, ps_roi_align])
def test_rois_without_images_are_refused(op, device):
    with pytest.raises(ValueError, match=r'input has no images \(N = 0\) but rois has 1 rows'):
        op(torch.randn(0, 4, 5, 5, device=device), torch.zeros(1, 5, device=device), 2)


@pytest.mark.parametrize('op', sorted(OPS))
def test_any_strides(op, device):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 2 * 4, 9, 11, generator=g).to(device)
    rois = random_rois(g, 8, 2, 9, 11, 1.0).float().to(device)
    expected = ours(x, rois, 2, 1.0)
    channels_last = x.to(memory_format=torch.channels_last)
    transposed = x.transpose(2, 3).contiguous().transpose(2, 3)
    strided_rois = torch.stack([rois, rois], dim=2).reshape(8, 10)[:, ::2]
    assert not strided_rois.is_contiguous()
    for variant, r in [(channels_last, rois), (transposed, rois), (x, strided_rois)]:
        torch.testing.assert_close(ours(variant, r, 2, 1.0), expected, rtol=0, atol=0)
    grads = []
    for variant in (x, channels_last, transposed):
        variant = variant.detach().requires_grad_()
        ours(variant, rois, 2, 1.0).backward(torch.ones_like(expected))
        grads.append(variant.grad)
    tol = dict(rtol=0, atol=0) if device.type == 'cpu' else dict(rtol=1e-6, atol=1e-6)
    for other in grads[1:]:
        torch.testing.assert_close(other, grads[0], **tol)


@pytest.mark.parametrize('op', sorted(OPS))
def test_list_of_boxes_equals_roi_tensor(op, device):
    ours, _ = OPS[op]
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 8, 8, generator=g).to(device)
    boxes = [torch.tensor([[1.0, 1.0, 5.0, 6.0]]), torch.tensor([[0.0, 2.0, 7.0, 7.0],
                                                                 [3.0, 3.0, 4.0, 4.0]])]
    rois = torch.tensor([[0, 1.0, 1.0, 5.0, 6.0], [1, 0.0, 2.0, 7.0, 7.0], [1, 3.0, 3.0, 4.0, 4.0]])
    torch.testing.assert_close(ours(x, [b.to(device) for b in boxes], 2, 1.0),
                               ours(x, rois.to(device), 2, 1.0))


@pytest.mark.parametrize('op', sorted(OPS))
def test_non_finite_and_huge_rois_are_safe(op, device):
    ours, _ = OPS[op]
    x = torch.randn(1, 4, 6, 6, device=device, requires_grad=True)
    nan, inf = float('nan'), float('inf')
    rois = torch.tensor([[0, nan, 0, 3, 3], [0, 0, -inf, 3, 3], [0, 0, 0, inf, inf],
                         [nan, 0, 0, 3, 3], [0, -1e30, -1e30, 1e30, 1e30]], device=device)
    if op == 'align_adaptive':  # the huge RoI is refused (CPU) or clamped (CUDA), see below
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
    (dict(rois=torch.zeros(2, 5, dtype=torch.int64)), TypeError,
     'rois must be a floating point tensor'),
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


RAW_BAD_ARGS = [  # (input shape, rois, pooled size) -> message of the compiled op's check
    ((1, 4, 5, 5), [[0, 1, 1, 3, 3]], (0, 2), 'pooled sizes must be positive'),
    ((1, 6, 5, 5), [[0, 1, 1, 3, 3]], (2, 2), r'input channels \(6\) must be divisible'),
    ((4, 5, 5), [[0, 1, 1, 3, 3]], (2, 2), 'input must be 4-D'),
    ((1, 4, 5, 5), [[0, 1, 1, 3]], (2, 2), r'rois must have shape \(K, 5\)'),
]


@pytest.mark.parametrize('device_name', ['cpu', 'meta'])
@pytest.mark.parametrize('shape, rois, size, message', RAW_BAD_ARGS)
def test_raw_ops_check_their_arguments(shape, rois, size, message, device_name):
    x = torch.randn(shape, device=device_name)
    rois = torch.tensor(rois, dtype=torch.float32, device=device_name)
    with pytest.raises(RuntimeError, match=message):
        torch.ops.mmdet_psroi.ps_roi_pool(x, rois, 1.0, *size)
    with pytest.raises(RuntimeError, match=message):
        torch.ops.mmdet_psroi.ps_roi_align(x, rois, 1.0, *size, 2)


def test_raw_op_refuses_bad_batch_index_on_the_cpu():
    with pytest.raises(RuntimeError, match=r'rois\[0, 0\] = 3 is not a batch index'):
        torch.ops.mmdet_psroi.ps_roi_pool(torch.randn(1, 4, 5, 5),
                                          torch.tensor([[3, 1, 1, 3, 3.0]]), 1.0, 2, 2)


def test_raw_backward_checks_the_gradient_shape():
    with pytest.raises(RuntimeError, match=r'grad must have shape \(K, C / \(kh \* kw\), kh, kw\)'):
        torch.ops.mmdet_psroi.ps_roi_pool_backward(torch.ones(1, 2, 2, 2),
                                                   torch.zeros(1, 5), 1.0, 2, 2, 1, 4, 5, 5)


def test_cuda_tensors_on_a_build_without_cuda_kernels_name_the_fix():
    if torch._C._dispatch_has_kernel_for_dispatch_key('mmdet_psroi::ps_roi_pool', 'CUDA'):
        pytest.skip('this build has CUDA kernels')
    with pytest.raises(RuntimeError, match='built without CUDA kernels.*FORCE_CUDA=1'):
        check_device_supported('ps_roi_pool', torch.device('cuda', 0))
    check_device_supported('ps_roi_pool', torch.device('cpu'))


def test_device_check_is_traceable():
    def fn(x):
        check_device_supported('ps_roi_pool', torch.device('cuda', 0))
        return x + 1

    assert torch.compile(fn, fullgraph=True, backend='eager')(torch.zeros(2)).tolist() == [1, 1]


def test_is_compiling_falls_back_to_dynamo_before_torch_2_3(monkeypatch):
    """torch.compiler.is_compiling exists from torch 2.3; torch 2.1-2.2 use torch._dynamo's
    (the compile tests exercise it while tracing on those versions)."""
    calls = []
    monkeypatch.setattr(torch, 'compiler', object())
    monkeypatch.setattr(torch._dynamo, 'is_compiling', lambda: calls.append(1) or False)
    assert ps_roi._is_compiling() is False and calls == [1]


def test_modules_repr_and_forward(device):
    pool = PSRoIPool(output_size=7, spatial_scale=1 / 16)
    align = PSRoIAlign(output_size=(3, 5), spatial_scale=0.0625, sampling_ratio=2)
    assert repr(pool) == "PSRoIPool(output_size=(7, 7), spatial_scale=0.0625, rule='torchvision')"
    assert repr(align) == 'PSRoIAlign(output_size=(3, 5), spatial_scale=0.0625, sampling_ratio=2)'
    x = torch.randn(1, 2 * 15, 8, 8, device=device)
    rois = torch.tensor([[0, 0, 0, 100.0, 90.0]], device=device)
    torch.testing.assert_close(align(x, rois), ps_roi_align(x, rois, (3, 5), 0.0625, 2))
    with pytest.raises(ValueError, match='spatial_scale'):
        PSRoIPool(7, spatial_scale=0)


def _inputs(dtype=torch.float64, device='cpu'):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 2 * 4, 6, 7, dtype=dtype, generator=g)
    rois = torch.tensor([[0, 0.3, 1.2, 9.1, 10.4], [1, 2.2, 0.1, 12.3, 8.4]], dtype=dtype)
    return x.to(device), rois.to(device)


@requires_torch('2.4', 'torch.library.opcheck')
@pytest.mark.parametrize('name, args', [('ps_roi_pool', (1.0, 2, 2)),
                                        ('ps_roi_align', (1.0, 2, 2, 2)),
                                        ('ps_roi_align', (0.5, 2, 2, -1))])
def test_opcheck(name, args, device):
    x, rois = _inputs(device=device)
    torch.library.opcheck(getattr(torch.ops.mmdet_psroi, name),
                          (x.requires_grad_(), rois) + args)


@requires_torch('2.4', 'torch.library.opcheck')
@pytest.mark.parametrize('name, args', [('ps_roi_pool_backward', (1.0, 2, 2, 2, 8, 6, 7)),
                                        ('ps_roi_align_backward', (1.0, 2, 2, 2, 2, 8, 6, 7))])
def test_opcheck_backward_ops(name, args, device):
    _, rois = _inputs(device=device)
    grad = torch.randn(2, 2, 2, 2, dtype=torch.float64, device=device)
    torch.library.opcheck(getattr(torch.ops.mmdet_psroi, name), (grad, rois) + args)


@pytest.mark.parametrize('name, extra', [('ps_roi_pool', ()), ('ps_roi_align', (2,))])
def test_double_backward_is_refused(name, extra):
    x, rois = _inputs()
    x.requires_grad_()
    out = getattr(torch.ops.mmdet_psroi, name)(x, rois, 1.0, 2, 2, *extra)
    (grad,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=f'mmdet_psroi::{name}: double backward'):
        grad.sum().backward()


def test_meta_tensors_give_shapes():
    x, rois = (t.to('meta') for t in _inputs())
    assert ps_roi_align(x, rois, 2, 1.0).shape == (2, 2, 2, 2)
    assert ps_roi_pool(x, rois[:1], 2, 1.0).device.type == 'meta'
    grad = torch.ops.mmdet_psroi.ps_roi_align_backward(torch.empty(2, 2, 2, 2, device='meta'),
                                                       rois, 1.0, 2, 2, 2, 2, 8, 6, 7)
    assert grad.shape == (2, 8, 6, 7)


def _head(x, rois):
    return ps_roi_align(x.relu(), rois, 2, 1.0, 2).mean(dim=(2, 3)) + ps_roi_pool(x, rois, 2)


@pytest.mark.parametrize('dynamic', [False, True])
def test_torch_compile_fullgraph(dynamic, device):
    torch._dynamo.reset()  # no cached graph of _head from another parametrization
    x, rois = _inputs(torch.float32, device)
    compiled = torch.compile(_head, fullgraph=True, backend='aot_eager', dynamic=dynamic)
    for num_rois in (2, 1):  # a second shape: recompiles, or reuses the dynamic graph
        xc, xe = x.clone().requires_grad_(), x.clone().requires_grad_()
        out = compiled(xc, rois[:num_rois])
        expected = _head(xe, rois[:num_rois])
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


class _TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2 * 4, 3, padding=1)
        self.pool = PSRoIPool(2, spatial_scale=0.5)
        self.align = PSRoIAlign(2, spatial_scale=0.5, sampling_ratio=2)

    def forward(self, images, rois):
        maps = self.conv(images)
        return self.pool(maps, rois) + self.align(maps, rois)


def test_fx_symbolic_trace_keeps_each_op_as_one_node():
    model = _TwoHeads()
    traced = torch.fx.symbolic_trace(model)
    targets = [node.target for node in traced.graph.nodes if node.op == 'call_function']
    assert targets == [ps_roi_pool, ps_roi_align, operator.add]
    images = torch.randn(2, 3, 10, 12)
    rois = torch.tensor([[0, 1.0, 2.0, 15.0, 17.0], [1, 4.0, 0.0, 20.0, 9.0]])
    torch.testing.assert_close(traced(images, rois), model(images, rois), rtol=0, atol=0)


def test_autocast(device):
    """Under autocast the op takes the map in the dtype autocast gave it (here the conv's
    low-precision output) and float32 RoIs, returns the map's dtype, and gradients reach the
    conv's weights; a float32 map stays float32."""
    dtype = torch.bfloat16 if device.type == 'cpu' else torch.float16
    model = _TwoHeads().to(device)
    images = torch.randn(2, 3, 10, 12, device=device)
    rois = torch.tensor([[0, 1.0, 2.0, 15.0, 17.0], [1, 4.0, 0.0, 20.0, 9.0]], device=device)
    with torch.autocast(device.type, dtype=dtype):
        out = model(images, rois)
        assert out.dtype == dtype
        assert ps_roi_align(torch.randn(2, 8, 5, 6, device=device), rois, 2).dtype == torch.float32
    expected = model(images, rois)
    torch.testing.assert_close(out.float(), expected, rtol=5e-2, atol=5e-2)
    out.float().sum().backward()
    assert model.conv.weight.grad is not None and model.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('op', sorted(OPS))
def test_deterministic_mode(op, device):
    """The CPU backward is deterministic (no atomics); the CUDA backward accumulates with
    atomics, so torch.use_deterministic_algorithms(True) refuses it as it does torch's own."""
    ours, _ = OPS[op]
    x, rois = _inputs(torch.float32, device)
    x.requires_grad_()
    name = 'ps_roi_pool' if op == 'pool' else 'ps_roi_align'
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        out = ours(x, rois, 2, 1.0)
        if device.type == 'cuda':
            with pytest.raises(RuntimeError, match=f'{name}_backward_cuda'):
                out.sum().backward()
        else:
            out.sum().backward()
            assert x.grad.abs().sum() > 0
    finally:
        torch.use_deterministic_algorithms(previous)


def test_nan_sample_does_not_propagate_into_output(device):
    """A RoI that yields no valid sample pools exactly 0, never NaN."""
    x = torch.randn(1, 4, 5, 5, device=device)
    degenerate = torch.tensor([[0, 4.0, 4.0, 1.0, 1.0]], device=device)  # x2 < x1
    out = ps_roi_align(x, degenerate, 2, 1.0, -1)
    assert torch.equal(out, torch.zeros_like(out))
    assert not math.isnan(float(ps_roi_pool(x, degenerate, 2).sum()))
