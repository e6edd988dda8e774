"""The import-time checks: a clear ImportError naming the versions found and the supported ones."""
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest

from mmdet_psroi.utils.environment import UntestedTorchWarning, check_openmmlab_stack, check_torch

GOOD = {'torch': '2.1.2', 'mmengine': '0.10.7', 'mmcv': '2.1.0', 'mmdet': '3.3.0'}


def _versions(**overrides):
    installed = {**GOOD, **overrides}

    def version_of(name):
        if installed[name] is None:
            raise metadata.PackageNotFoundError(name)
        return installed[name]

    return version_of


def _ops_load(name):
    return object()


def test_supported_stack_passes():
    check_openmmlab_stack(_versions(), _ops_load)
    check_openmmlab_stack(_versions(mmcv='2.0.0rc4', mmdet='3.0.0'), _ops_load)


def test_the_installed_stack_passes():
    pytest.importorskip('mmdet')
    check_torch()
    check_openmmlab_stack()


@pytest.mark.parametrize('version', ['2.1.0', '2.1.2', '2.13.0+cpu', '2.15.0', '2.15.1+cu130'])
def test_tested_torch_passes(version):
    check_torch(_versions(torch=version))


BELOW_THE_FLOOR = ['2.0.1', '1.13.1', '2.0.0+cpu']
NEWER_THAN_TESTED = ['2.16.0', '2.16.0.dev20260101', '3.0.0']


@pytest.mark.parametrize('version', BELOW_THE_FLOOR + NEWER_THAN_TESTED)
def test_untested_torch_names_the_version_and_the_range(version):
    """Below the floor: an ImportError; newer than the tested range: a warning."""
    if version in BELOW_THE_FLOOR:
        expected = pytest.raises(ImportError, match=rf'supports torch>=2.1,<2.16, but torch '
                                                    rf'{re.escape(version)} is installed. Fix: '
                                                    r'.*--no-build-isolation')
    else:
        expected = pytest.warns(UntestedTorchWarning, match=rf'tested with torch>=2.1,<2.16; '
                                                            rf'torch {re.escape(version)} is '
                                                            r'newer and untested')
    with expected:
        check_torch(_versions(torch=version))


@pytest.mark.parametrize('name, version', [
    ('mmcv', '2.2.0'), ('mmcv', '1.7.2'), ('mmdet', '2.28.2'), ('mmdet', '3.4.0'),
    ('mmengine', '1.0.0')])
def test_wrong_version_names_the_package_the_stack_and_the_fix(name, version):
    with pytest.raises(ImportError, match=rf'needs {name}>=.*but {name} {version} is installed '
                                          r'\(found: torch 2.1.2, mmengine .*mmdet .*\)'
                                          r'.*Fix: '):
        check_openmmlab_stack(_versions(**{name: version}), _ops_load)


def test_missing_package_is_named():
    with pytest.raises(ImportError, match=r'needs mmdet>=3.0,<3.4, which is not installed '
                                          r'\(found: .*mmdet \(not installed\)\)'):
        check_openmmlab_stack(_versions(mmdet=None), _ops_load)


def test_mmcv_without_compiled_ops_gives_the_build_command():
    def no_ext(name):
        raise ModuleNotFoundError(name)

    with pytest.raises(ImportError, match=r'mmcv._ext is missing.*MMCV_WITH_OPS=1'):
        check_openmmlab_stack(_versions(), no_ext)


def test_mmcv_built_for_another_torch_says_so():
    """pip's wheel cache hands out an mmcv built against another torch: undefined symbols."""
    def wrong_abi(name):
        raise ImportError(f'{name}.so: undefined symbol: _ZN3c1017RegisterOperators')

    with pytest.raises(ImportError, match=r'undefined symbol.*built against another torch.*'
                                          r'found: torch 2.1.2.*--no-cache-dir'):
        check_openmmlab_stack(_versions(), wrong_abi)


def _python(code):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)


def test_import_stops_on_an_untested_torch_with_a_clear_message():
    """The whole import path, as a user sees it: one ImportError, not a deep traceback."""
    result = _python(
        'import importlib.metadata as m\n'
        'real = m.version\n'
        'm.version = lambda name: "2.0.1" if name == "torch" else real(name)\n'
        'try:\n'
        '    import mmdet_psroi\n'
        'except ImportError as error:\n'
        '    print(error)\n')
    assert result.returncode == 0, result.stderr
    assert 'supports torch>=2.1,<2.16, but torch 2.0.1 is installed' in result.stdout


def test_ops_import_and_run_with_torch_alone():
    """mmdet_psroi.ops needs torch only: mmdet, mmcv and mmengine are hidden from the import."""
    result = _python(
        'import sys\n'
        'for name in ("mmdet", "mmcv", "mmengine"):\n'
        '    sys.modules[name] = None  # import fails, find_spec says not installed\n'
        'import torch\n'
        'from mmdet_psroi.ops import ps_roi_align\n'
        'feats = torch.rand(1, 2 * 2 * 2, 8, 8, requires_grad=True)\n'
        'rois = torch.tensor([[0., 1., 1., 6., 6.]])\n'
        'out = ps_roi_align(feats, rois, output_size=2, spatial_scale=1.0)\n'
        'out.sum().backward()\n'
        'hidden = ("mmdet", "mmcv", "mmengine")\n'
        'loaded = sorted(n for n, m in sys.modules.items()\n'
        '                if n.split(".")[0] in hidden and m is not None)\n'
        'models = "mmdet_psroi.models" in sys.modules\n'
        'print(tuple(out.shape), float(feats.grad.sum()), loaded, models)\n')
    assert result.returncode == 0, result.stderr
    shape, grad_sum, loaded, models = result.stdout.rsplit(' ', 3)
    assert shape == '(1, 2, 2, 2)'
    assert float(grad_sum) == pytest.approx(8.0)  # each bin's bilinear weights sum to 1
    assert loaded == '[]' and models.strip() == 'False'


def test_import_warns_on_a_torch_newer_than_the_tested_range():
    result = _python(
        'import importlib.metadata as m, warnings\n'
        'real = m.version\n'
        'm.version = lambda name: "2.16.0" if name == "torch" else real(name)\n'
        'with warnings.catch_warnings(record=True) as caught:\n'
        '    warnings.simplefilter("always")\n'
        '    import mmdet_psroi.ops\n'
        'print([str(w.message) for w in caught if "untested" in str(w.message)])\n')
    assert result.returncode == 0, result.stderr
    assert 'tested with torch>=2.1,<2.16; torch 2.16.0 is newer and untested' in result.stdout


@pytest.fixture
def unsupported_mmcv(tmp_path):
    """A folder that, first on the path, makes ``mmcv`` 2.2.0 (which mmdet 3.x refuses) the
    installed one: a package and its distribution metadata."""
    (tmp_path / 'mmcv').mkdir()
    (tmp_path / 'mmcv' / '__init__.py').write_text("__version__ = '2.2.0'\n")
    dist_info = tmp_path / 'mmcv-2.2.0.dist-info'
    dist_info.mkdir()
    (dist_info / 'METADATA').write_text('Metadata-Version: 2.1\nName: mmcv\nVersion: 2.2.0\n')
    return tmp_path


def _python_with_first_on_path(folder, code):
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get('PYTHONPATH')]))
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env={**os.environ, 'PYTHONPATH': path})


def test_ops_import_needs_torch_only_beside_an_unsupported_mmcv(unsupported_mmcv):
    """mmdet (if installed) and an mmcv it refuses stay untouched by ``import mmdet_psroi.ops``."""
    result = _python_with_first_on_path(unsupported_mmcv, (
        'import sys, torch\n'
        'import importlib.metadata as m\n'
        'assert m.version("mmcv") == "2.2.0"\n'
        'from mmdet_psroi.ops import ps_roi_pool\n'
        'out = ps_roi_pool(torch.rand(1, 4, 4, 4), torch.tensor([[0., 0., 0., 3., 3.]]), 2)\n'
        'stack = sorted(n for n in sys.modules\n'
        '               if n.split(".")[0] in ("mmdet", "mmcv", "mmengine")\n'
        '               or n.startswith(("mmdet_psroi.models", "mmdet_psroi.engine")))\n'
        'print(tuple(out.shape), stack)\n'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['(1,', '1,', '2,', '2)', '[]']


def test_plugin_import_beside_an_unsupported_mmcv_names_it(unsupported_mmcv):
    pytest.importorskip('mmdet')
    result = _python_with_first_on_path(unsupported_mmcv, (
        'try:\n'
        '    import mmdet_psroi.plugin\n'
        'except ImportError as error:\n'
        '    print(error)\n'))
    assert result.returncode == 0, result.stderr
    assert 'needs mmcv>=2.0,<2.2, but mmcv 2.2.0 is installed' in result.stdout


def test_package_import_registers_nothing_and_imports_no_stack(unsupported_mmcv):
    """``import mmdet_psroi`` checks torch only, even beside an mmcv that mmdet refuses."""
    result = _python_with_first_on_path(unsupported_mmcv, (
        'import sys\n'
        'import mmdet_psroi\n'
        'loaded = sorted(n for n in sys.modules\n'
        '                if n.split(".")[0] in ("mmdet", "mmcv", "mmengine")\n'
        '                or n.startswith(("mmdet_psroi.plugin", "mmdet_psroi.models",\n'
        '                                 "mmdet_psroi.engine", "mmdet_psroi.ops")))\n'
        'print(mmdet_psroi.__version__, loaded)\n'))
    assert result.returncode == 0, result.stderr
    version, loaded = result.stdout.split()
    assert version[0].isdigit() and loaded == '[]'


def test_plugin_registers_what_a_config_names():
    """The models (MODELS), the sampler (TASK_UTILS) and the optim wrapper (OPTIM_WRAPPERS),
    none of which is in mmdet's registries before."""
    pytest.importorskip('mmdet')
    result = _python(
        'from mmdet.registry import MODELS, OPTIM_WRAPPERS, TASK_UTILS\n'
        'from mmdet.utils import register_all_modules\n'
        'register_all_modules()\n'
        'names = [(MODELS, "RFCN"), (MODELS, "RFCNRoIHead"), (MODELS, "PSBBoxHead"),\n'
        '         (MODELS, "PSRoIExtractor"), (TASK_UTILS, "TotalLossOHEMSampler"),\n'
        '         (OPTIM_WRAPPERS, "BF16OptimWrapper")]\n'
        'before = [registry.get(name) for registry, name in names]\n'
        'import mmdet_psroi.plugin\n'
        'print(before == [None] * len(names),\n'
        '      [registry.get(name).__name__ for registry, name in names])\n')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=1) == [
        'True', "['RFCN', 'RFCNRoIHead', 'PSBBoxHead', 'PSRoIExtractor', "
                "'TotalLossOHEMSampler', 'BF16OptimWrapper']\n"]
