"""Check, before registering anything, that torch and the OpenMMLab stack are ones this plugin
works with, and say which versions were found and which are supported when they are not."""
import warnings
from importlib import import_module, metadata

from packaging.version import Version

# torch: (floor, first untested): the floor setup.py declares, and the range `make test` runs
# (README: Compatibility). The others, distribution -> (lowest allowed, first excluded): the
# ranges setup.py declares.
TORCH_RANGE = ('2.1', '2.16')
SUPPORTED_RANGES = {
    'mmengine': ('0.10', '1.0'),
    'mmcv': ('2.0', '2.2'),
    'mmdet': ('3.0', '3.4'),
}
MMCV_BUILD_HINT = ('MMCV_WITH_OPS=1 pip install --no-build-isolation --no-cache-dir mmcv==2.1.0 '
                   '(builds it against the installed torch; needs setuptools<81; in this '
                   'repository: make env)')
OP_BUILD_HINT = 'then rebuild the op: pip install --no-build-isolation -e .'


def _installed(name, version_of):
    try:
        return version_of(name)
    except metadata.PackageNotFoundError:
        return None


def _in_range(installed, lowest, excluded):
    return Version(lowest) <= Version(Version(installed).base_version) < Version(excluded)


class UntestedTorchWarning(UserWarning):
    """torch is newer than the range this plugin is tested with."""


def check_torch(version_of=metadata.version):
    """Raise ImportError naming the torch found and the supported range when it is older than
    the floor; warn (:class:`UntestedTorchWarning`) naming the tested range when it is newer.

    Args:
        version_of (callable): distribution name -> installed version string
            (raises ``PackageNotFoundError`` when it is not installed).
    """
    lowest, untested = TORCH_RANGE
    installed = _installed('torch', version_of)
    if installed is None or _in_range(installed, lowest, untested):
        return
    if Version(Version(installed).base_version) < Version(lowest):
        raise ImportError(f'mmdet-psroi supports torch>={lowest},<{untested}, but torch '
                          f'{installed} is installed. Fix: pip install "torch>={lowest},'
                          f'<{untested}", {OP_BUILD_HINT}')
    warnings.warn(f'mmdet-psroi is tested with torch>={lowest},<{untested}; torch {installed} '
                  'is newer and untested. If the op misbehaves, pip install '
                  f'"torch>={lowest},<{untested}", {OP_BUILD_HINT}', UntestedTorchWarning,
                  stacklevel=2)


def _mmcv_ops_failure(load):
    """Why mmcv's compiled ops do not load, or None when they do."""
    try:
        load('mmcv._ext')
    except ModuleNotFoundError:
        return ('mmdet-psroi needs mmcv built with its compiled ops, but mmcv._ext is missing '
                '(mmcv-lite, or a build with MMCV_WITH_OPS=0)')
    except ImportError as error:
        return (f"mmcv's compiled ops do not load ({error}): mmcv was built against another "
                'torch than the installed one')
    return None


def check_openmmlab_stack(version_of=metadata.version, import_module=import_module):
    """Raise ImportError naming the versions found, the supported ranges and the fix when the
    stack cannot work.

    Args:
        version_of (callable): distribution name -> installed version string
            (raises ``PackageNotFoundError`` when it is not installed).
        import_module (callable): imports a module by name; used to load mmcv's compiled ops.
    """
    found = {name: _installed(name, version_of) for name in ('torch', *SUPPORTED_RANGES)}
    found_text = ', '.join(f'{name} {version or "(not installed)"}'
                           for name, version in found.items())
    for name, (lowest, excluded) in SUPPORTED_RANGES.items():
        wanted = f'{name}>={lowest},<{excluded}'
        fix = MMCV_BUILD_HINT if name == 'mmcv' else f'pip install "{wanted}"'
        if found[name] is None:
            raise ImportError(f'mmdet-psroi needs {wanted}, which is not installed '
                              f'(found: {found_text}). Fix: {fix}')
        if not _in_range(found[name], lowest, excluded):
            raise ImportError(f'mmdet-psroi needs {wanted}, but {name} {found[name]} is '
                              f'installed (found: {found_text}). Fix: {fix}')
    failure = _mmcv_ops_failure(import_module)
    if failure is not None:
        raise ImportError(f'{failure} (found: {found_text}). Fix: {MMCV_BUILD_HINT}')
