"""The nvcc build registers the deformable PS RoI pooling kernels for every dispatch key
(see test_cuda_build.py for when this runs)."""
from tests.ops.test_cuda_build import (  # noqa: F401 (fixture, skips)
    cuda_library,
    pytestmark,
    registers_every_dispatch_key,
)


def test_library_registers_deform_kernels(cuda_library):  # noqa: F811
    assert registers_every_dispatch_key(cuda_library,
                                        ['deform_ps_roi_pool', 'deform_ps_roi_pool_backward'])
