"""Loads the compiled kernels that register ``torch.ops.mmdet_psroi.*``.

By default the in-place extension ``mmdet_psroi.ops._C`` is imported. The environment
variable ``MMDET_PSROI_LIBRARY`` may name another build of it (a ``.so`` file), which is
then loaded instead, e.g. a CUDA build made out of tree against another torch.
"""
import os

import torch

LIBRARY_ENV = 'MMDET_PSROI_LIBRARY'


def load_library():
    path = os.environ.get(LIBRARY_ENV)
    if path:
        if not os.path.isfile(path):
            raise ImportError(f'{LIBRARY_ENV}={path!r} does not name a file; expected the path '
                              'of a compiled mmdet_psroi library (_C*.so)')
        torch.ops.load_library(path)
        return
    try:
        from . import _C  # noqa: F401  (registers the ops)
    except ImportError as error:
        raise ImportError(
            'the compiled extension mmdet_psroi.ops._C is not built or does not match the '
            f'installed torch {torch.__version__} ({error}). Build it with '
            '"pip install --no-build-isolation -e ." or "python setup.py build_ext --inplace".'
        ) from error
