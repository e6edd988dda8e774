"""BF16OptimWrapper: the forward pass under bfloat16 autocast, float32 parameters updated."""
import pytest
import torch
from mmdet.registry import OPTIM_WRAPPERS
from torch import nn

from mmdet_psroi.engine import BF16OptimWrapper


def test_forward_in_bfloat16_update_in_float32():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(1))
    model(torch.randn(2, 3, 6, 6))
    wrapper = OPTIM_WRAPPERS.build(dict(type='BF16OptimWrapper', device_type='cpu',
                                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(wrapper, BF16OptimWrapper)
    before = [p.detach().clone() for p in model.parameters()]
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 3, 6, 6))
        loss = out.float().pow(2).mean()
    assert out.dtype == torch.bfloat16
    wrapper.update_params(loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert model(torch.randn(2, 3, 6, 6)).dtype == torch.float32  # autocast ends with it


def test_bad_device_type_is_named():
    with pytest.raises(ValueError, match="device_type must be 'cpu' or 'cuda', got 'tpu'"):
        BF16OptimWrapper(device_type='tpu', optimizer=torch.optim.SGD([nn.Parameter(
            torch.zeros(1))], lr=0.1))
