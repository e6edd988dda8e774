"""The CUDA build compiles and links with nvcc against a CUDA torch, for sm_75, sm_80, sm_90.

Runs where torch is a CUDA build and nvcc exists (`make test` runs it in .venv-cuda); skipped
with the reason elsewhere. No GPU is needed: the kernels are compiled, not run (their source
is run on the CPU by test_cuda_emulation.py).
"""
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CUDA_HOME = os.environ.get('CUDA_HOME', '/usr/local/cuda')
NVCC = shutil.which('nvcc') or os.path.join(CUDA_HOME, 'bin', 'nvcc')
EXPECTED_ARCHS = {75, 80, 90}
FATBIN_MAGIC = 0xBA55ED50
FATBIN_CUBIN = 2

pytestmark = [
    pytest.mark.skipif(torch.version.cuda is None,
                       reason=f'torch {torch.__version__} is a CPU build: the CUDA build is '
                              'checked in .venv-cuda (make test-cuda)'),
    pytest.mark.skipif(not os.path.isfile(NVCC), reason='nvcc not found (set CUDA_HOME)'),
]


def _nvcc_cuda_version():
    out = subprocess.run([NVCC, '--version'], capture_output=True, text=True).stdout
    return re.search(r'release (\d+\.\d+)', out).group(1)


if torch.version.cuda is not None and os.path.isfile(NVCC):
    pytestmark.append(pytest.mark.skipif(
        _nvcc_cuda_version().split('.')[0] != torch.version.cuda.split('.')[0],
        reason=f'nvcc is CUDA {_nvcc_cuda_version()} but torch {torch.__version__} was built '
               f'with CUDA {torch.version.cuda}: torch refuses to mix major versions'))


def cubin_archs(library):
    """The SM architectures of the cubins embedded in a library's fat binaries."""
    data = Path(library).read_bytes()
    magic = struct.pack('<I', FATBIN_MAGIC)
    archs, pos = set(), data.find(magic)
    while pos != -1:
        _, header_size, fat_size = struct.unpack_from('<HHQ', data, pos + 4)
        entry, end = pos + header_size, pos + header_size + fat_size
        while entry < end:
            kind, _, entry_header, payload = struct.unpack_from('<HHIQ', data, entry)
            if kind == FATBIN_CUBIN:
                archs.add(struct.unpack_from('<I', data, entry + 28)[0])
            entry += entry_header + payload
        pos = data.find(magic, end)
    return archs


@pytest.fixture(scope='module')
def cuda_library():
    venv = Path(sys.executable).parents[1]
    subprocess.run(['bash', str(ROOT / 'tools/env/build_cuda_ext.sh'), str(venv)], cwd=ROOT,
                   check=True, capture_output=True, text=True)
    (library,) = glob.glob(str(ROOT / 'build/cuda/lib/mmdet_psroi/ops/_C*.so'))
    return library


def test_cubins_for_every_target_architecture(cuda_library):
    assert cubin_archs(cuda_library) == EXPECTED_ARCHS


def registers_every_dispatch_key(library, names):
    """Whether ``library``, loaded in a fresh process, registers each ``mmdet_psroi::<name>``
    for the CUDA, CPU, Meta and Autograd dispatch keys."""
    code = ('import sys, torch\n'
            'torch.ops.load_library(sys.argv[1])\n'
            'has = torch._C._dispatch_has_kernel_for_dispatch_key\n'
            'keys = ("CUDA", "CPU", "Meta", "Autograd")\n'
            'print(all(has("mmdet_psroi::" + n, key) for n in sys.argv[2:] for key in keys))\n')
    result = subprocess.run([sys.executable, '-c', code, library, *names], capture_output=True,
                            text=True, check=True)
    return result.stdout.strip() == 'True'


def test_library_registers_cuda_kernels(cuda_library):
    assert registers_every_dispatch_key(cuda_library, ['ps_roi_pool', 'ps_roi_pool_backward',
                                                       'ps_roi_align', 'ps_roi_align_backward'])
