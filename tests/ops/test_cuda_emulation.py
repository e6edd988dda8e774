"""The CUDA kernels' own source, run on the CPU through a small emulation header, agrees with
the CPU op, forward and backward, and is safe where the CUDA path skips the CPU's checks
(see tests/ops/cuda_emulation/)."""
import math
import os
from pathlib import Path

import pytest
import torch
from torch.utils.cpp_extension import load

import mmdet_psroi.ops
from mmdet_psroi.ops.ps_roi import MAX_ADAPTIVE_GRID
from tests.ops.test_ps_roi import random_rois

HERE = Path(__file__).parent
CSRC = Path(mmdet_psroi.ops.__file__).parent / 'csrc'
POOL = -2  # the harness's selector for PS RoI Pool
# (sampling_ratio, original) of the kernels: PS RoI Pool with either rule, PS RoI Align
# adaptive and with 2 samples per side.
KERNELS = [(POOL, False), (POOL, True), (-1, False), (2, False)]
# Backward: the accumulation order differs (one output at a time vs one input channel at a
# time), so the float sums differ in the last bits, then are rounded once to the dtype.
GRAD_TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 1e-2,
                  torch.bfloat16: 2e-2}


def load_emulation(name, source):
    """Compiles ``tests/ops/cuda_emulation/<source>`` (kernels included from the package's csrc)
    as the extension ``name``, in build/<name>_torch<version>, and loads it."""
    build_dir = HERE.parents[1] / 'build' / f'{name}_torch{torch.__version__}'
    os.makedirs(build_dir, exist_ok=True)
    return load(name=name, sources=[str(HERE / 'cuda_emulation' / source)],
                extra_include_paths=[str(CSRC), str(HERE / 'cuda_emulation')],
                extra_cflags=['-O1'], build_directory=str(build_dir), verbose=False)


@pytest.fixture(scope='module')
def emulated():
    return load_emulation('psroi_cuda_emulation', 'emulated_kernels.cpp')


def _cpu_op(sampling_ratio, original=False):
    """(forward, backward, the arguments between the pooled sizes and the input sizes, the
    arguments after the input sizes) of the CPU op that the kernel selection runs."""
    if sampling_ratio == POOL:
        return (torch.ops.mmdet_psroi.ps_roi_pool, torch.ops.mmdet_psroi.ps_roi_pool_backward,
                (), (original,))
    return (torch.ops.mmdet_psroi.ps_roi_align, torch.ops.mmdet_psroi.ps_roi_align_backward,
            (sampling_ratio,), ())


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize('sampling_ratio, original', KERNELS)
@pytest.mark.parametrize('seed', range(3))
def test_cuda_kernels_match_cpu_op(emulated, dtype, sampling_ratio, original, seed):
    """float32 RoIs for half/bfloat16 maps (the AMP case), the map's dtype otherwise."""
    g = torch.Generator().manual_seed(seed)
    kh, kw = [(3, 3), (2, 4), (5, 1)][seed]
    batch, c_out, height, width, scale = 2, 3, 11, 13, 0.5
    x = torch.randn(batch, c_out * kh * kw, height, width, generator=g).to(dtype)
    rois = random_rois(g, 20, batch, height, width, scale)
    rois = rois.to(dtype if dtype in (torch.float32, torch.float64) else torch.float32)
    forward, backward, extra, last = _cpu_op(sampling_ratio, original)

    expected = forward(x, rois, scale, kh, kw, *extra, *last)
    got = emulated.forward(x, rois, scale, kh, kw, sampling_ratio, original)
    assert expected.abs().sum() > 0
    torch.testing.assert_close(got, expected, rtol=0, atol=0)  # same arithmetic, same order

    grad = torch.randn(expected.shape, generator=g).to(dtype)
    expected_grad = backward(grad, rois, scale, kh, kw, *extra, batch, x.size(1), height, width,
                             *last)
    got_grad = emulated.backward(grad, rois, scale, kh, kw, sampling_ratio, batch, x.size(1),
                                 height, width, original)
    assert got_grad.dtype == dtype
    tol = GRAD_TOLERANCE[dtype]
    torch.testing.assert_close(got_grad, expected_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize('sampling_ratio, original', KERNELS)
def test_bad_batch_index_pools_zero(emulated, sampling_ratio, original):
    """The CUDA path does not read the RoIs back to check them: the kernels give a RoI whose
    batch index is not one of the input's 0 output and no gradient."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 4, 9, 10, generator=g)
    rois = random_rois(g, 6, 2, 9, 10, 1.0).float()
    bad = torch.tensor([1, 4])
    rois[bad, 0] = torch.tensor([2.0, -1.0])
    good = torch.tensor([0, 2, 3, 5])
    forward, backward, extra, last = _cpu_op(sampling_ratio, original)

    got = emulated.forward(x, rois, 1.0, 2, 2, sampling_ratio, original)
    assert not got[bad].any()
    torch.testing.assert_close(got[good], forward(x, rois[good], 1.0, 2, 2, *extra, *last))
    grad = torch.randn(got.shape, generator=g)
    got_grad = emulated.backward(grad, rois, 1.0, 2, 2, sampling_ratio, 2, 4, 9, 10, original)
    expected = backward(grad[good], rois[good], 1.0, 2, 2, *extra, 2, 4, 9, 10, *last)
    torch.testing.assert_close(got_grad, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('height, width', [(0, 5), (5, 0), (0, 0)])
@pytest.mark.parametrize('sampling_ratio, original', KERNELS)
def test_kernels_are_safe_on_maps_without_pixels(emulated, height, width, sampling_ratio,
                                                 original):
    x = torch.randn(1, 4, height, width)
    rois = torch.tensor([[0, -1.0, -1.0, 3.0, 3.0], [0, 0.0, 0.0, 0.5, 0.5]])
    out = emulated.forward(x, rois, 1.0, 2, 2, sampling_ratio, original)
    assert out.shape == (2, 1, 2, 2) and not out.any()
    grad = emulated.backward(torch.ones_like(out), rois, 1.0, 2, 2, sampling_ratio, 1, 4, height,
                             width, original)
    assert grad.shape == (1, 4, height, width)


def test_adaptive_grid_is_clamped_at_the_kernels_limit(emulated):
    """A RoI whose adaptive grid needs more than MAX_ADAPTIVE_GRID points per side (the CPU op
    refuses it) is sampled with MAX_ADAPTIVE_GRID points on that side. On a map of ones a
    sample inside [-1, W] reads 1, so the output is the fraction of samples inside."""
    width, roi_width = 10, 70000.0
    x = torch.ones(1, 1, 1, width, dtype=torch.float64)
    rois = torch.tensor([[0, 0.0, 0.0, roi_width, 1.0]], dtype=torch.float64)
    out = emulated.forward(x, rois, 1.0, 1, 1, -1, False)
    assert math.ceil(roi_width) > MAX_ADAPTIVE_GRID
    step = roi_width / MAX_ADAPTIVE_GRID
    inside = sum(-0.5 + (i + 0.5) * step <= width for i in range(MAX_ADAPTIVE_GRID))
    assert float(out) == pytest.approx(inside / MAX_ADAPTIVE_GRID, rel=1e-12)
    with pytest.raises(RuntimeError, match='sampling points per bin side'):
        torch.ops.mmdet_psroi.ps_roi_align(x, rois, 1.0, 1, 1, -1)
