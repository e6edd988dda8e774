"""Check, before registering anything, that the OpenMMLab stack is one this plugin works with."""
from importlib import metadata
from importlib.util import find_spec

from packaging.version import Version

# distribution -> (lowest allowed, first excluded): the ranges setup.py declares.
SUPPORTED_RANGES = {
    'mmengine': ('0.10', '1.0'),
    'mmcv': ('2.0', '2.2'),
    'mmdet': ('3.0', '3.4'),
}
MMCV_BUILD_HINT = ('MMCV_WITH_OPS=1 pip install --no-build-isolation mmcv==2.1.0 '
                   '(needs setuptools<81; in this repository: make env)')


def check_openmmlab_stack(version_of=metadata.version, has_module=find_spec):
    """Raise ImportError naming the package and the fix when the stack cannot work.

    Args:
        version_of (callable): distribution name -> installed version string
            (raises ``PackageNotFoundError`` when it is not installed).
        has_module (callable): module name -> spec or None; used to find mmcv's compiled ops.
    """
    for name, (lowest, excluded) in SUPPORTED_RANGES.items():
        wanted = f'{name}>={lowest},<{excluded}'
        fix = MMCV_BUILD_HINT if name == 'mmcv' else f'pip install "{wanted}"'
        try:
            installed = version_of(name)
        except metadata.PackageNotFoundError:
            raise ImportError(f'mmdet-psroi needs {wanted}, which is not installed. '
                              f'Fix: {fix}') from None
        if not Version(lowest) <= Version(Version(installed).base_version) < Version(excluded):
            raise ImportError(f'mmdet-psroi needs {wanted}, but {name} {installed} is '
                              f'installed. Fix: {fix}')
    if has_module('mmcv._ext') is None:
        raise ImportError('mmdet-psroi needs mmcv built with its compiled ops, but mmcv._ext is '
                          'missing (mmcv-lite, or a build with MMCV_WITH_OPS=0). '
                          f'Fix: {MMCV_BUILD_HINT}')
