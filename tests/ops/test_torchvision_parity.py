"""Agreement with torchvision's ps_roi_align / ps_roi_pool (where torchvision imports:
.venv-cuda in `make test`), on the CPU and, where a GPU is visible, against torchvision's CUDA
kernels.

ps_roi_align matches torchvision. ps_roi_pool matches it except where a bin touches the last
row or column of the map: torchvision's forward clips bins to H-1 / W-1 and never reads them
(its CPU kernel in 0.29, and its CUDA kernel too, as measured on an H100 with 0.26), while its
own backward and R-FCN's original layer clip to H / W. We follow the latter, so our forward
and backward agree and gradcheck passes.
"""
import pytest
import torch

from mmdet_psroi.ops import ps_roi_align, ps_roi_pool
from tests.ops.reference import ps_roi_pool_reference
from tests.ops.test_ps_roi import random_rois

tv_ops = pytest.importorskip('torchvision.ops')


def _inputs(seed, dtype, shape=(2, 3, 3, 3, 15, 19), scale=0.5, num=40, device='cpu'):
    g = torch.Generator().manual_seed(seed)
    batch, c_out, kh, kw, height, width = shape
    x = torch.randn(batch, c_out * kh * kw, height, width, generator=g).to(device, dtype)
    rois = random_rois(g, num, batch, height, width, scale).to(device, dtype)
    return x, rois, (kh, kw), scale


def _forward_backward(fn, x, *args):
    x = x.clone().requires_grad_()
    out = fn(x, *args)
    out.backward(torch.ones_like(out).cumsum(1))
    return out.detach(), x.grad


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('sampling_ratio', [-1, 1, 2])
@pytest.mark.parametrize('shape', [(2, 3, 3, 3, 15, 19), (1, 2, 7, 7, 20, 30), (3, 2, 2, 5, 9, 8)])
def test_ps_roi_align_matches_torchvision(dtype, sampling_ratio, shape, device):
    x, rois, size, scale = _inputs(len(shape) + sampling_ratio, dtype, shape, device=device)
    ours = _forward_backward(ps_roi_align, x, rois, size, scale, sampling_ratio)
    theirs = _forward_backward(tv_ops.ps_roi_align, x, rois, size, scale, sampling_ratio)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def _away_from_last_row_and_column(rois, size, scale, height, width):
    """RoIs whose quantised extent ends before row H-1 and column W-1."""
    x2 = torch.round(rois[:, 3] * scale)
    y2 = torch.round(rois[:, 4] * scale)
    return rois[(x2 < width - 1) & (y2 < height - 1)]


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('seed', range(3))
def test_ps_roi_pool_matches_torchvision_away_from_the_border(dtype, seed, device):
    x, rois, size, scale = _inputs(seed, dtype, num=100, device=device)
    rois = _away_from_last_row_and_column(rois, size, scale, x.size(2), x.size(3))
    assert len(rois) >= 10
    ours = _forward_backward(ps_roi_pool, x, rois, size, scale)
    theirs = _forward_backward(tv_ops.ps_roi_pool, x, rois, size, scale)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_ps_roi_pool_at_the_border_follows_the_reference_not_torchvision_cpu_forward():
    x = torch.arange(4 * 6 * 8, dtype=torch.float64).reshape(1, 4, 6, 8)
    rois = torch.tensor([[0, 4.0, 2.0, 8.0, 6.0]], dtype=torch.float64)  # ends at the last row/col
    ours = ps_roi_pool(x, rois, 2)
    theirs = tv_ops.ps_roi_pool(x, rois, 2)
    reference = ps_roi_pool_reference(x, rois, (2, 2), 1.0)
    torch.testing.assert_close(ours, reference)
    # The bottom-right bin covers rows 4..5 and columns 6..7 of channel 3.
    assert ours[0, 0, 1, 1] == x[0, 3, 4:6, 6:8].mean()
    assert theirs[0, 0, 1, 1] != ours[0, 0, 1, 1]  # torchvision's forward drops row 5, col 7
    # torchvision's own backward spreads the gradient over the full bin, as ours does.
    grads = [_forward_backward(fn, x, rois, 2)[1] for fn in (ps_roi_pool, tv_ops.ps_roi_pool)]
    torch.testing.assert_close(grads[0], grads[1])
    xg = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: ps_roi_pool(t, rois, 2), (xg,))
    assert not torch.autograd.gradcheck(lambda t: tv_ops.ps_roi_pool(t, rois, 2), (xg,),
                                        raise_exception=False)
