"""BF16OptimWrapper: the forward pass under bfloat16 autocast on the device of the model's
parameters, float32 parameters updated."""
import pytest
import torch
from mmdet.registry import OPTIM_WRAPPERS
from torch import nn

from mmdet_psroi.engine import BF16OptimWrapper

CUDA = pytest.param('cuda', marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                     reason='needs a CUDA device'))


def _model(device='cpu'):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 1))
    return model.to(device)


def _wrapper(model, **kwargs):
    return OPTIM_WRAPPERS.build(dict(type='BF16OptimWrapper', **kwargs,
                                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))


@pytest.mark.parametrize('device', ['cpu', CUDA])
@pytest.mark.parametrize('stated', [False, True])
def test_forward_in_bfloat16_on_the_parameters_device_update_in_float32(device, stated):
    """No device_type: autocast where the parameters are; a stated one that agrees (configs
    saved with ``device_type='cpu'``) works the same."""
    model = _model(device)
    wrapper = _wrapper(model, **(dict(device_type=device) if stated else {}))
    assert isinstance(wrapper, BF16OptimWrapper)
    before = [p.detach().clone() for p in model.parameters()]
    inputs = torch.randn(2, 3, 6, 6, device=device)
    with wrapper.optim_context(model):
        out = model(inputs)
        loss = out.float().pow(2).mean()
    assert out.dtype == torch.bfloat16
    wrapper.update_params(loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert model(inputs).dtype == torch.float32  # autocast ends with it


def test_stated_device_type_other_than_the_parameters_is_refused():
    """A GPU model with a CPU autocast would train in float32 without a word: it stops."""
    model = _model()
    wrapper = _wrapper(model, device_type='cuda')
    with pytest.raises(ValueError, match=r"device_type='cuda', but the model's parameters are "
                                         r"on 'cpu'.*float32"):
        with wrapper.optim_context(model):
            pass


def test_parameters_on_a_device_without_bfloat16_autocast_are_named():
    model = _model('meta')
    with pytest.raises(ValueError, match=r"parameters are on 'meta'; bfloat16 autocast is used "
                                         r"on \('cpu', 'cuda'\)"):
        with _wrapper(model).optim_context(model):
            pass


def test_a_model_without_parameters_is_named():
    wrapper = _wrapper(_model())
    with pytest.raises(ValueError, match=r"one device type, found no parameters"):
        with wrapper.optim_context(nn.ReLU()):
            pass


def test_bad_device_type_is_named():
    with pytest.raises(ValueError, match="device_type must be None, 'cpu' or 'cuda', got 'tpu'"):
        BF16OptimWrapper(device_type='tpu', optimizer=torch.optim.SGD([nn.Parameter(
            torch.zeros(1))], lr=0.1))
