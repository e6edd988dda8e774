"""Devices and torch-version gates of the op tests: every test that takes the ``device``
fixture (tests/ops/conftest.py) runs on the CPU and, where ``torch.cuda.is_available()``, on
CUDA; elsewhere its CUDA case is skipped with the reason (``pytest -rs`` prints it)."""
import pytest
import torch

NO_CUDA = f'no CUDA device (torch {torch.__version__}: torch.cuda.is_available() is False)'
requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
DEVICES = ['cpu', pytest.param('cuda', marks=requires_cuda)]


def requires_torch(version, what):
    """Skips where torch is older than ``version`` (e.g. '2.4'), which ``what`` needs."""
    return pytest.mark.skipif(torch.__version__ < version,  # a TorchVersion: compares versions
                              reason=f'{what} needs torch >= {version}, found {torch.__version__}')
