"""The GPU check's environment probe: prints one JSON line with the versions of python,
torch (and its CUDA), torchvision, pytest, setuptools and pytest-xdist, the GPU, and where
the pip-installed CUDA headers and ninja are. Runs with the target python."""
import glob
import json
import os
import platform

import torch


def gpu():
    if not torch.cuda.is_available():
        return {}
    props = torch.cuda.get_device_properties(0)
    return dict(gpu=props.name, capability=[props.major, props.minor],
                gpu_count=torch.cuda.device_count(),
                gpu_memory_gib=round(props.total_memory / 2**30, 1))


def module_versions(names):
    """name -> version, and name_error -> why for those that do not import."""
    found = {}
    for name in names:
        try:
            found[name] = __import__(name).__version__
        except Exception as error:  # noqa: BLE001 (any failure to import is reported)
            found[name], found[name + '_error'] = None, f'{type(error).__name__}: {error}'
    return found


def nvidia_include_dirs():
    """The include folders of pip-installed CUDA toolkits (the nvidia namespace package)."""
    try:
        import nvidia
    except ImportError:
        return []
    return sorted(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, '*', 'include')))


def ninja_bin_dir():
    try:
        import ninja
    except ImportError:
        return None
    return getattr(ninja, 'BIN_DIR', None)


def main():
    info = dict(python=platform.python_version(), torch=torch.__version__,
                torch_cuda=torch.version.cuda, cuda_available=torch.cuda.is_available())
    info.update(gpu())
    info.update(module_versions(('torchvision', 'pytest', 'setuptools', 'xdist')))
    info.update(nvidia_include_dirs=nvidia_include_dirs(), ninja_bin_dir=ninja_bin_dir())
    print(json.dumps(info))


if __name__ == '__main__':
    main()
