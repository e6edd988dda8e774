"""The CUDA kernels' own source, run on the CPU through a small emulation header, agrees with
the CPU op, forward and backward (see tests/ops/cuda_emulation/)."""
import os
from pathlib import Path

import pytest
import torch
from torch.utils.cpp_extension import load

import mmdet_psroi.ops
from tests.ops.test_ps_roi import random_rois

HERE = Path(__file__).parent
CSRC = Path(mmdet_psroi.ops.__file__).parent / 'csrc'
POOL = -2  # the harness's selector for PS RoI Pool


@pytest.fixture(scope='module')
def emulated():
    build_dir = HERE.parents[1] / 'build' / f'cuda_emulation_torch{torch.__version__}'
    os.makedirs(build_dir, exist_ok=True)
    return load(name='psroi_cuda_emulation',
                sources=[str(HERE / 'cuda_emulation' / 'emulated_kernels.cpp')],
                extra_include_paths=[str(CSRC), str(HERE / 'cuda_emulation')],
                extra_cflags=['-O1'], build_directory=str(build_dir), verbose=False)


def _cpu_op(sampling_ratio):
    if sampling_ratio == POOL:
        return torch.ops.mmdet_psroi.ps_roi_pool, torch.ops.mmdet_psroi.ps_roi_pool_backward, ()
    return (torch.ops.mmdet_psroi.ps_roi_align, torch.ops.mmdet_psroi.ps_roi_align_backward,
            (sampling_ratio,))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('sampling_ratio', [POOL, -1, 2])
@pytest.mark.parametrize('seed', range(3))
def test_cuda_kernels_match_cpu_op(emulated, dtype, sampling_ratio, seed):
    g = torch.Generator().manual_seed(seed)
    kh, kw = [(3, 3), (2, 4), (5, 1)][seed]
    batch, c_out, height, width, scale = 2, 3, 11, 13, 0.5
    x = torch.randn(batch, c_out * kh * kw, height, width, generator=g).to(dtype)
    rois = random_rois(g, 20, batch, height, width, scale).to(dtype)
    forward, backward, extra = _cpu_op(sampling_ratio)

    expected = forward(x, rois, scale, kh, kw, *extra)
    got = emulated.forward(x, rois, scale, kh, kw, sampling_ratio)
    assert expected.abs().sum() > 0
    torch.testing.assert_close(got, expected, rtol=0, atol=0)  # same arithmetic, same order

    grad = torch.randn(expected.shape, generator=g).to(dtype)
    expected_grad = backward(grad, rois, scale, kh, kw, *extra, batch, x.size(1), height, width)
    got_grad = emulated.backward(grad, rois, scale, kh, kw, sampling_ratio, batch, x.size(1),
                                 height, width)
    # Accumulation order differs (one output at a time vs one input channel at a time).
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(got_grad, expected_grad, rtol=tol, atol=tol)
