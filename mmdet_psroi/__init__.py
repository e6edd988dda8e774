"""mmdet-psroi: R-FCN and Position-Sensitive RoI pooling for MMDetection 3.x.

``import mmdet_psroi`` (or ``custom_imports=dict(imports=['mmdet_psroi'])`` in a config)
registers the R-FCN components in ``mmdet.registry.MODELS`` and, where ``torch.load`` loads
weights-only by default (torch >= 2.6), lets it read the checkpoints mmengine writes. An
unsupported mmcv, mmengine or mmdet stops it with an ImportError naming the versions found and
the supported ones; when mmdet is not installed only the ops are available.

``import mmdet_psroi.ops`` (or of a module under it) needs torch only: whatever mmcv, mmengine
or mmdet is installed, it checks torch and loads the op, and never fails for the OpenMMLab
stack. Python runs this file first for it too, so what this file does beyond the torch check
depends on what is being imported (:func:`mmdet_psroi.utils.import_target.imported_for`).
Where the stack is a supported one, an ops import registers the models too: Python does not run
this file again for a later ``import mmdet_psroi`` (a config's ``custom_imports``), which would
otherwise find nothing registered.

A torch below the supported floor stops any import with an ImportError; one newer than the
tested range gives a warning naming that range.
"""
from importlib.util import find_spec

from .utils.environment import check_openmmlab_stack, check_torch
from .utils.import_target import imported_for
from .version import __version__

__all__ = ['__version__']

check_torch()


def _openmmlab_stack_supported():
    try:
        check_openmmlab_stack()
    except ImportError:
        return False
    return True


if find_spec('mmdet') is not None and (imported_for(__name__) != 'ops'
                                       or _openmmlab_stack_supported()):
    from . import models  # noqa: F401  (checks the OpenMMLab stack, registers the models)
