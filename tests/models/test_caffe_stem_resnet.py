"""CaffeStemResNet's stem pooling is Caffe's: 3x3 max pooling of stride 2, no padding, the
output size rounded up (PyTorch's ``ceil_mode=True``), in values and gradients."""
import pytest
import torch

from mmdet_psroi.models.backbones.caffe_stem_resnet import CaffeStemResNet


@pytest.mark.parametrize('height,width', [(2, 2), (3, 4), (7, 8), (10, 9), (33, 50)])
def test_stem_pooling_is_ceil_mode_max_pooling(height, width):
    stem = CaffeStemResNet(depth=18, style='caffe').maxpool
    x = torch.randn(2, 4, height, width, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.max_pool2d(x, 3, 2, 0, ceil_mode=True)
    out = stem(x)
    assert out.shape == ref.shape
    assert torch.equal(out, ref)
    grad = torch.randn_like(ref)
    expected, = torch.autograd.grad(ref, x, grad)
    got, = torch.autograd.grad(out, x, grad)
    assert torch.equal(got, expected)
