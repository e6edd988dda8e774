"""The GPU check's probe of the built op: on the device named by the first argument (cuda or
cpu), ps_roi_pool and ps_roi_align must give the CPU kernels' float64 results, and a C++ error
raised by the op must reach Python as an exception (a crash here means a broken build)."""
import sys

import torch

from mmdet_psroi.ops import ps_roi_align, ps_roi_pool


def main(device):
    x = torch.randn(1, 2 * 9, 8, 8, dtype=torch.float64)
    rois = torch.tensor([[0, 0.5, 1.0, 6.0, 7.5], [0, 2.0, 2.0, 4.0, 5.0]], dtype=torch.float64)
    for fn, args in ((ps_roi_pool, (3, 1.0)), (ps_roi_align, (3, 1.0, 2))):
        want = fn(x, rois, *args)
        got = fn(x.to(device), rois.to(device), *args)
        torch.testing.assert_close(got.cpu(), want, rtol=1e-12, atol=1e-12)
    try:
        torch.ops.mmdet_psroi.ps_roi_align(x.to(device), rois[:, :4].to(device), 1.0, 3, 3, 2)
    except RuntimeError:
        return
    raise SystemExit('rois of shape (K, 4) raised no error')


if __name__ == '__main__':
    main(sys.argv[1])
