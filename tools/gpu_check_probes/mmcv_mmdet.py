"""The GPU check's probe for the head benchmark: mmdet imports and mmcv's compiled RoIAlign
runs on the device named by the first argument; prints their versions."""
import sys

import torch


def main(device):
    import mmcv
    import mmdet
    from mmcv.ops import roi_align

    out = roi_align(torch.ones(1, 1, 4, 4, device=device),
                    torch.tensor([[0, 0, 0, 3, 3]], dtype=torch.float32, device=device),
                    2, 1.0, 0, 'avg', True)
    assert out.shape == (1, 1, 2, 2), out.shape
    print(f'mmcv {mmcv.__version__}, mmdet {mmdet.__version__}')


if __name__ == '__main__':
    main(sys.argv[1])
