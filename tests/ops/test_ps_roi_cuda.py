"""CUDA-only behaviour of the op (skipped with the reason where no GPU is visible); the tests
of test_ps_roi.py and test_torchvision_parity.py that take ``device`` also run on CUDA.

Tolerances, CUDA vs CPU: float64 1e-12 and float32 1e-5 (same per-element arithmetic, the
backward's atomics add in another order); float16 1e-2 and bfloat16 2e-2 (both accumulate in
float, then round once to the dtype, so they differ by at most about one unit in the last
place of the dtype: 2^-10 and 2^-7 relative).
"""
import math

import pytest
import torch

from mmdet_psroi.ops import ps_roi_align, ps_roi_pool
from mmdet_psroi.ops.ps_roi import MAX_ADAPTIVE_GRID
from tests.ops.devices import requires_cuda
from tests.ops.test_ps_roi import random_rois

pytestmark = requires_cuda

TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 1e-2,
             torch.bfloat16: 2e-2}
OPS = {
    'pool': lambda x, r, size, scale: ps_roi_pool(x, r, size, scale),
    'align': lambda x, r, size, scale: ps_roi_align(x, r, size, scale, 2),
    'align_adaptive': lambda x, r, size, scale: ps_roi_align(x, r, size, scale, -1),
}


def _random_case(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    kh, kw, batch, c_out = (int(v) for v in torch.randint(1, 8, (4,), generator=g))
    height, width = (int(v) for v in torch.randint(1, 60, (2,), generator=g))
    scale = [1.0, 1 / 4, 1 / 16][seed % 3]
    x = torch.randn(batch, c_out * kh * kw, height, width, generator=g).to(dtype)
    rois = random_rois(g, 50, batch, height, width, scale).float()
    grad = torch.randn(50, c_out, kh, kw, generator=g).to(dtype)
    return x, (rois if dtype != torch.float64 else rois.double()), grad, (kh, kw), scale


@pytest.mark.parametrize('dtype', sorted(TOLERANCE, key=str))
@pytest.mark.parametrize('op', sorted(OPS))
@pytest.mark.parametrize('seed', range(4))
def test_cuda_matches_cpu(op, dtype, seed):
    x, rois, grad, size, scale = _random_case(seed, dtype)
    results = []
    for device in ('cpu', 'cuda'):
        xd = x.to(device).detach().requires_grad_()  # a leaf on both devices
        out = OPS[op](xd, rois.to(device), size, scale)
        out.backward(grad.to(device))
        results.append((out.detach().cpu(), xd.grad.cpu()))
    tol = TOLERANCE[dtype]
    assert results[0][0].abs().sum() > 0
    for cpu, cuda in zip(*results):
        torch.testing.assert_close(cuda, cpu, rtol=tol, atol=tol)


def test_rois_on_another_device_are_refused():
    x = torch.randn(1, 4, 5, 5, device='cuda')
    rois = torch.tensor([[0, 1, 1, 3, 3.0]])
    for op in (ps_roi_pool, ps_roi_align):
        with pytest.raises(ValueError, match='rois are on cpu but input is on cuda:0'):
            op(x, rois, 2)
    with pytest.raises(RuntimeError, match='rois are on cpu'):
        torch.ops.mmdet_psroi.ps_roi_align(x, rois, 1.0, 2, 2, 2)


@pytest.mark.parametrize('op', sorted(OPS))
def test_bad_batch_index_pools_zero_without_a_sync(op):
    """On CUDA the batch indices are not read back (that would synchronize every call): a RoI
    that names no image of the input pools 0 and gets no gradient."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 9, 10, generator=g)
    rois = random_rois(g, 6, 2, 9, 10, 1.0).float()
    rois[1, 0], rois[4, 0] = 2.0, -1.0
    good = [0, 2, 3, 5]
    xc = x.cuda().requires_grad_()
    out = OPS[op](xc, rois.cuda(), 2, 1.0)
    assert not out[[1, 4]].any()
    torch.testing.assert_close(out[good].cpu(), OPS[op](x, rois[good], 2, 1.0))
    out.sum().backward()
    xe = x.clone().requires_grad_()
    OPS[op](xe, rois[good], 2, 1.0).sum().backward()
    torch.testing.assert_close(xc.grad.cpu(), xe.grad, rtol=1e-5, atol=1e-5)


def test_adaptive_grid_is_clamped_at_the_kernels_limit():
    """See test_cuda_emulation.py: the CPU refuses the RoI, CUDA samples MAX_ADAPTIVE_GRID
    points on the side that needs more; on a map of ones the output is the inside fraction."""
    width, roi_width = 10, 70000.0
    x = torch.ones(1, 1, 1, width, dtype=torch.float64, device='cuda')
    rois = torch.tensor([[0, 0.0, 0.0, roi_width, 1.0]], dtype=torch.float64, device='cuda')
    out = ps_roi_align(x, rois, 1, 1.0, -1)
    assert math.ceil(roi_width) > MAX_ADAPTIVE_GRID
    step = roi_width / MAX_ADAPTIVE_GRID
    inside = sum(-0.5 + (i + 0.5) * step <= width for i in range(MAX_ADAPTIVE_GRID))
    assert float(out) == pytest.approx(inside / MAX_ADAPTIVE_GRID, rel=1e-12)


@pytest.mark.parametrize('as_boxes', [False, True])
@pytest.mark.parametrize('op', sorted(OPS))
def test_forward_and_backward_make_no_host_device_sync(op, as_boxes):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 2 * 9, 20, 30, generator=g).cuda().requires_grad_()
    rois = random_rois(g, 40, 2, 20, 30, 0.5).float().cuda()
    if as_boxes:
        rois = [rois[:25, 1:], rois[25:, 1:]]
    grad = torch.randn(40, 2, 3, 3, generator=g).cuda()
    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode('error')
    try:
        out = OPS[op](x, rois, 3, 0.5)
        out.backward(grad)
    finally:
        torch.cuda.set_sync_debug_mode(previous)
    assert x.grad.abs().sum() > 0


def _cpu_case(seed, height, width, scale, num_rois):
    """A (2, 8, height, width) map and num_rois float32 RoIs on the CPU."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 8, height, width, generator=g)
    return x, random_rois(g, num_rois, 2, height, width, scale).float()


@pytest.mark.parametrize('op', sorted(OPS))
def test_runs_on_the_current_stream(op):
    x, rois = _cpu_case(5, 40, 50, 0.25, 300)
    expected = OPS[op](x, rois, 2, 0.25)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        # Inputs written and read on the side stream only: a kernel launched on another
        # stream could read them before they are written.
        xc = torch.empty(x.shape, device='cuda').copy_(x, non_blocking=True)
        out = OPS[op](xc * 1.0, rois.cuda(), 2, 0.25)
    stream.synchronize()
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs 2 GPUs')
@pytest.mark.parametrize('op', sorted(OPS))
def test_runs_on_the_inputs_device(op):
    """Tensors on cuda:1 while cuda:0 is current: the kernels run under a device guard."""
    x, rois = _cpu_case(6, 12, 14, 0.5, 20)
    expected = OPS[op](x, rois, 2, 0.5)
    with torch.cuda.device(0):
        x1 = x.to('cuda:1').requires_grad_()
        out = OPS[op](x1, rois.to('cuda:1'), 2, 0.5)
        out.sum().backward()
    assert out.device == x1.grad.device == torch.device('cuda:1')
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-5, atol=1e-5)
