"""The nvcc build registers the deformable PS RoI pooling kernels for every dispatch key
(see test_cuda_build.py for when this runs)."""
import subprocess
import sys

from tests.ops.test_cuda_build import cuda_library, pytestmark  # noqa: F401 (fixture, skips)


def test_library_registers_deform_kernels(cuda_library):  # noqa: F811
    code = ('import sys, torch\n'
            'torch.ops.load_library(sys.argv[1])\n'
            'has = torch._C._dispatch_has_kernel_for_dispatch_key\n'
            'names = ["deform_ps_roi_pool", "deform_ps_roi_pool_backward"]\n'
            'keys = ("CUDA", "CPU", "Autograd", "Meta")\n'
            'print(all(has("mmdet_psroi::" + n, key) for n in names for key in keys))\n')
    result = subprocess.run([sys.executable, '-c', code, cuda_library], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == 'True'
