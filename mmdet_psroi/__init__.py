"""mmdet-psroi: R-FCN and Position-Sensitive RoI pooling for MMDetection 3.x.

``import mmdet_psroi`` checks torch and gives ``__version__``; it registers nothing and
imports nothing of the OpenMMLab stack. A torch below the supported floor stops it with an
ImportError; one newer than the tested range gives a warning naming that range.

- ``import mmdet_psroi.ops`` (or a module under it) needs torch only: it loads the compiled op.
- ``import mmdet_psroi.plugin`` checks mmcv, mmengine and mmdet and registers everything a
  config can name in mmdet's registries. Configs name it in one line::

      custom_imports = dict(imports=['mmdet_psroi.plugin'], allow_failed_imports=False)
"""
from .utils.environment import check_torch
from .version import __version__

__all__ = ['__version__']

check_torch()
