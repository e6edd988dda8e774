"""The deformable PS RoI pooling CUDA kernels' own source, run on the CPU through the emulation
header (tests/ops/cuda_emulation/), agrees with the CPU op, forward and backward, in both
conventions."""
import pytest
import torch

from tests.ops.test_cuda_emulation import load_emulation
from tests.ops.test_ps_roi import random_rois


@pytest.fixture(scope='module')
def emulated():
    return load_emulation('deform_psroi_cuda_emulation', 'emulated_deform_kernels.cpp')


@pytest.mark.parametrize('original', [False, True])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('groups', [0, 1, 3])
@pytest.mark.parametrize('seed', range(2))
def test_cuda_kernels_match_cpu_op(emulated, original, dtype, groups, seed):
    g = torch.Generator().manual_seed(seed)
    kh, kw = [(3, 3), (2, 4)][seed]
    parts = [(3, 3), (1, 2)][seed]
    batch, c_out, height, width, scale = 2, 3, 11, 13, 0.5
    x = torch.randn(batch, c_out * kh * kw, height, width, generator=g).to(dtype)
    rois = random_rois(g, 20, batch, height, width, scale).float()
    offset = (0.5 * torch.randn(20, 2 * groups, *parts, generator=g)).to(dtype)
    offset[:4] = 0  # samples on integer coordinates (original: no offset gradient there)
    args = (scale, kh, kw, 2, 0.2)
    expected = torch.ops.mmdet_psroi.deform_ps_roi_pool(x, rois, offset, *args, original)
    got = emulated.forward(x, rois, offset, *args, original)
    assert expected.abs().sum() > 0
    torch.testing.assert_close(got, expected, rtol=0, atol=0)  # same arithmetic, same order

    grad = torch.randn(expected.shape, generator=g).to(dtype)
    backward = torch.ops.mmdet_psroi.deform_ps_roi_pool_backward
    expected_grads = backward(grad, x, rois, offset, *args, *x.shape, original)
    got_grads = emulated.backward(grad, x, rois, offset, *args, original, True)
    # Accumulation order differs (one output at a time vs one input channel / RoI at a time).
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for got_grad, expected_grad in zip(got_grads, expected_grads):
        torch.testing.assert_close(got_grad, expected_grad, rtol=tol, atol=tol)
    if groups:
        assert expected_grads[1].abs().sum() > 0

    # Without the map: the same input gradient, no offset gradient.
    no_map = backward(grad, None, rois, offset, *args, *x.shape, original)
    got_no_map = emulated.backward(grad, x, rois, offset, *args, original, False)
    torch.testing.assert_close(got_no_map[0], expected_grads[0], rtol=tol, atol=tol)
    torch.testing.assert_close(no_map[0], expected_grads[0], rtol=0, atol=0)
    for grads in (no_map, got_no_map):
        assert torch.equal(grads[1], torch.zeros_like(offset))
