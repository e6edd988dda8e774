"""Build script for mmdet-psroi.

The compiled op (``mmdet_psroi.ops._C``) is built against the torch that is
installed in the current environment, so install with
``pip install --no-build-isolation -e .`` (or ``pip install --no-build-isolation .``).

Environment variables:
    FORCE_CUDA=1            build the CUDA kernels even when no GPU is visible
                            (needs nvcc, i.e. ``CUDA_HOME``). Without it they are built only
                            when a GPU is visible; the build says which kernels it built, why.
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


def _cuda_decision():
    """(build the CUDA kernels?, why), said at build time (see make_extension)."""
    forced = os.environ.get('FORCE_CUDA', '0') == '1'
    if torch.version.cuda is None:
        if forced:
            _fail(f'FORCE_CUDA=1 but the installed torch {torch.__version__} is a CPU-only '
                  'build: install a CUDA build of torch.')
        return False, f'torch {torch.__version__} is a CPU-only build'
    if CUDA_HOME is None:
        if forced:
            _fail('FORCE_CUDA=1 but no CUDA toolkit was found: set CUDA_HOME to the folder '
                  'that holds bin/nvcc.')
        return False, 'no CUDA toolkit found (set CUDA_HOME to the folder that holds bin/nvcc)'
    if forced:
        return True, 'FORCE_CUDA=1'
    if not torch.cuda.is_available():
        return False, ('no GPU visible at build time and FORCE_CUDA is not set (set '
                       'FORCE_CUDA=1, and TORCH_CUDA_ARCH_LIST, to build them anyway)')
    return True, 'a GPU is visible'


def _cuda_archs():
    archs = os.environ.get('TORCH_CUDA_ARCH_LIST')
    if archs:
        return f'TORCH_CUDA_ARCH_LIST={archs}'
    if torch.cuda.is_available():
        found = sorted({'{}.{}'.format(*torch.cuda.get_device_capability(i))
                        for i in range(torch.cuda.device_count())})
        return 'the visible GPUs: ' + ';'.join(found)
    return "torch's default architecture list"


def _sources(*patterns):
    found = []
    for pattern in patterns:
        found += sorted(glob.glob(os.path.join(CSRC, pattern)))
    return found


def make_extension():
    # csrc/ layout (see csrc/ps_roi.cpp): the TORCH_LIBRARY definition(s) at the top, then one
    # folder per dispatch key; every file of these folders is compiled.
    sources = _sources('*.cpp', 'cpu/*.cpp', 'meta/*.cpp', 'autograd/*.cpp')
    include_dirs = [os.path.abspath(CSRC)]
    cxx_flags = ['-O3']
    link_flags = []
    if sys.platform.startswith('linux'):
        # at::parallel_for is header code: without OpenMP it silently runs serially.
        cxx_flags.append('-fopenmp')
        link_flags.append('-fopenmp')
        # The C++ runtime torch uses, shared: a compiler that links libstdc++ statically
        # (a wrapper adding -static-libstdc++) would give the op a second copy, and every
        # C++ error it raises then crashed the process (seen on a GPU machine whose default
        # CXX did this). Named here, libstdc++.so resolves the symbols before the static one.
        link_flags.append('-lstdc++')
    with_cuda, why = _cuda_decision()
    if with_cuda:
        sys.stderr.write(f'mmdet-psroi: building CPU + CUDA kernels ({why}; architectures: '
                         f'{_cuda_archs()}; CUDA {torch.version.cuda}, nvcc in {CUDA_HOME})\n')
        sources += _sources('cuda/*.cu')
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
    sys.stderr.write(f'mmdet-psroi: building CPU kernels only: {why}. The op will refuse CUDA '
                     'tensors.\n')
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
    license_files=['LICENSE'],
    python_requires='>=3.8',
    # The wheel holds mmdet_psroi only. package_dir={'': '.'} makes an editable install put
    # the checkout itself on sys.path (a static .pth file, not a finder that maps mmdet_psroi
    # alone), so that the scripts of the checkout import the tool-only package
    # mmdet_psroi_tools and the configs' projects.* modules.
    packages=find_packages(include=('mmdet_psroi', 'mmdet_psroi.*')),
    package_dir={'': '.'},
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
