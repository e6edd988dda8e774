"""mmdet-psroi: R-FCN and Position-Sensitive RoI pooling for MMDetection 3.x.

``import mmdet_psroi`` (or ``custom_imports=dict(imports=['mmdet_psroi'])`` in a config)
registers the R-FCN components in ``mmdet.registry.MODELS`` and, where ``torch.load`` loads
weights-only by default (torch >= 2.6), lets it read the checkpoints mmengine writes. The op
package :mod:`mmdet_psroi.ops` depends on torch only and is usable without mmdet; when mmdet is
not installed only the ops are available. An unsupported torch, mmcv, mmengine or mmdet stops
the import with an ImportError naming the versions found and the supported ones.
"""
from importlib.util import find_spec

from .utils.environment import check_torch
from .version import __version__

__all__ = ['__version__']

check_torch()

if find_spec('mmdet') is not None:
    from .utils.environment import check_openmmlab_stack

    check_openmmlab_stack()

    from .utils.checkpoint import allow_mmengine_checkpoints

    allow_mmengine_checkpoints()

    from . import models  # noqa: F401  (registers the models)
