import pytest
import torch

from tests.ops.devices import DEVICES


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)
