"""The module a config imports to use mmdet-psroi::

    custom_imports = dict(imports=['mmdet_psroi.plugin'], allow_failed_imports=False)

On import it

1. checks the OpenMMLab stack: an unsupported mmcv, mmengine or mmdet (or an mmcv without its
   compiled ops) stops it with one ImportError naming the versions found and the supported ones;
2. lets ``torch.load`` read the checkpoints mmengine writes, where it loads weights-only by
   default (torch >= 2.6; :mod:`mmdet_psroi.utils.checkpoint`);
3. registers everything a config can name in mmdet's registries: the models (``MODELS``), the
   samplers (``TASK_UTILS``) and ``BF16OptimWrapper`` (``OPTIM_WRAPPERS``).

Importing it again does nothing more (Python runs a module once).
"""
from .utils import allow_mmengine_checkpoints, check_openmmlab_stack

check_openmmlab_stack()
allow_mmengine_checkpoints()

from . import engine, models  # noqa: E402,F401  (register the optim wrapper and the models)
