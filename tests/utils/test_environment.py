from importlib import metadata

import pytest

from mmdet_psroi.utils.environment import check_openmmlab_stack

GOOD = {'mmengine': '0.10.7', 'mmcv': '2.1.0', 'mmdet': '3.3.0'}


def _versions(**overrides):
    installed = {**GOOD, **overrides}

    def version_of(name):
        if installed[name] is None:
            raise metadata.PackageNotFoundError(name)
        return installed[name]

    return version_of


def _has_ops(name):
    return object()


def test_supported_stack_passes():
    check_openmmlab_stack(_versions(), _has_ops)
    check_openmmlab_stack(_versions(mmcv='2.0.0rc4', mmdet='3.0.0'), _has_ops)


def test_the_installed_stack_passes():
    pytest.importorskip('mmdet')
    check_openmmlab_stack()


@pytest.mark.parametrize('name, version', [
    ('mmcv', '2.2.0'), ('mmcv', '1.7.2'), ('mmdet', '2.28.2'), ('mmdet', '3.4.0'),
    ('mmengine', '1.0.0')])
def test_wrong_version_names_the_package_and_the_fix(name, version):
    with pytest.raises(ImportError, match=rf'needs {name}>=.*but {name} {version} is installed'
                                          r'.*Fix: '):
        check_openmmlab_stack(_versions(**{name: version}), _has_ops)


def test_missing_package_is_named():
    with pytest.raises(ImportError, match=r'needs mmdet>=3.0,<3.4, which is not installed'):
        check_openmmlab_stack(_versions(mmdet=None), _has_ops)


def test_mmcv_without_compiled_ops_gives_the_build_command():
    with pytest.raises(ImportError, match=r'mmcv._ext is missing.*MMCV_WITH_OPS=1'):
        check_openmmlab_stack(_versions(), lambda name: None)
