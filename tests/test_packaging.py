"""The source distribution carries the license setup.py declares, the README it reads, the
op's sources, the configs and the model index (`python setup.py sdist`)."""
import subprocess
import sys
import tarfile

import pytest

from tests.tools.tool_module import ROOT


@pytest.mark.slow
def test_sdist_carries_license_readme_sources_and_model_index(tmp_path):
    result = subprocess.run([sys.executable, 'setup.py', '-q', 'sdist', '--dist-dir',
                             str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (archive, ) = tmp_path.glob('mmdet_psroi-*.tar.gz')
    with tarfile.open(archive) as tar:
        names = {name.split('/', 1)[1] for name in tar.getnames() if '/' in name}
        pkg_info = tar.extractfile(f'{archive.name[:-len(".tar.gz")]}/PKG-INFO').read().decode()
    for path in ('LICENSE', 'README.md', 'model-index.yml', 'configs/rfcn/metafile.yml',
                 'configs/rfcn/rfcn_r50-c4_1x_coco.py', 'mmdet_psroi/ops/csrc/ps_roi.cpp',
                 'projects/LightHeadRCNN/metafile.yml'):
        assert path in names, f'{path} is missing from the sdist'
    with open(f'{ROOT}/LICENSE') as f:
        assert 'Apache License' in f.readline() + f.readline()
    assert 'License: Apache-2.0' in pkg_info and 'License-File: LICENSE' in pkg_info
