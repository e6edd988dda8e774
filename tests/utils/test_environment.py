"""The import-time checks: a clear ImportError naming the versions found and the supported ones."""
import subprocess
import sys
from importlib import metadata

import pytest

from mmdet_psroi.utils.environment import check_openmmlab_stack, check_torch

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


@pytest.mark.parametrize('version', ['2.0.1', '1.13.1', '2.16.0', '3.0.0'])
def test_untested_torch_names_the_version_and_the_range(version):
    with pytest.raises(ImportError, match=rf'supports torch>=2.1,<2.16, but torch {version} is '
                                          r'installed. Fix: .*--no-build-isolation'):
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
