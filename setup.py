"""Build script for mmdet-psroi.

The compiled op (``mmdet_psroi.ops._C``) is built against the torch that is
installed in the current environment, so install with
``pip install --no-build-isolation -e .`` (or ``pip install --no-build-isolation .``).

Environment variables:
    FORCE_CUDA=1            build the CUDA kernels even when no GPU is visible
                            (needs nvcc, i.e. ``CUDA_HOME``).
    TORCH_CUDA_ARCH_LIST    the architectures to compile for, e.g. "7.0;8.0;9.0".
    MAX_JOBS                parallel compile jobs (ninja).
"""
import glob
import os
import sys

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join('mmdet_psroi', 'ops', 'csrc')


def _fail(message):
    sys.stderr.write(f'\nmmdet-psroi: {message}\n\n')
    raise SystemExit(1)


try:
    import torch
    from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
except ImportError:
    _fail('torch is not importable while building. The compiled op is built '
          'against the torch of the target environment: install torch first '
          '(here: pip install torch==2.13.0), then run '
          '"pip install --no-build-isolation -e ." so that pip builds with it.')


def _read_version():
    namespace = {}
    with open(os.path.join(HERE, 'mmdet_psroi', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def _want_cuda():
    if os.environ.get('FORCE_CUDA', '0') == '1':
        if CUDA_HOME is None:
            _fail('FORCE_CUDA=1 but no CUDA toolkit was found: set CUDA_HOME '
                  'to the folder that holds bin/nvcc.')
        if torch.version.cuda is None:
            _fail(f'FORCE_CUDA=1 but the installed torch {torch.__version__} '
                  'is a CPU-only build: install a CUDA build of torch.')
        return True
    return torch.cuda.is_available() and CUDA_HOME is not None


def _sources(*patterns):
    found = []
    for pattern in patterns:
        found += sorted(glob.glob(os.path.join(CSRC, pattern)))
    return found


def make_extension():
    sources = _sources('*.cpp', os.path.join('cpu', '*.cpp'), os.path.join('autograd', '*.cpp'),
                       os.path.join('meta', '*.cpp'))
    include_dirs = [os.path.abspath(CSRC)]
    cxx_flags = ['-O3']
    link_flags = []
    if sys.platform.startswith('linux'):
        # at::parallel_for is header code: without OpenMP it silently runs serially.
        cxx_flags.append('-fopenmp')
        link_flags.append('-fopenmp')
    if _want_cuda():
        sources += _sources(os.path.join('cuda', '*.cu'))
        return CUDAExtension(
            'mmdet_psroi.ops._C',
            sources=sources,
            include_dirs=include_dirs,
            define_macros=[('WITH_CUDA', None)],
            extra_compile_args={
                'cxx': cxx_flags,
                'nvcc': ['-O3', '--expt-relaxed-constexpr'],
            },
            extra_link_args=link_flags)
    return CppExtension(
        'mmdet_psroi.ops._C',
        sources=sources,
        include_dirs=include_dirs,
        extra_compile_args={'cxx': cxx_flags},
        extra_link_args=link_flags)


setup(
    name='mmdet-psroi',
    version=_read_version(),
    description='R-FCN and Position-Sensitive RoI pooling for MMDetection 3.x',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(exclude=('tests', 'tests.*', 'tools', 'configs')),
    include_package_data=True,
    package_data={'mmdet_psroi.ops': ['csrc/**/*']},
    install_requires=[
        'torch>=2.1',
        'numpy',
        'packaging',
        'mmengine>=0.10,<1.0',
        'mmcv>=2.0,<2.2',
        'mmdet>=3.0,<3.4',
    ],
    extras_require={
        'tests': ['pytest>=7', 'ruff'],
    },
    ext_modules=[make_extension()],
    cmdclass={'build_ext': BuildExtension},
    zip_safe=False,
)
