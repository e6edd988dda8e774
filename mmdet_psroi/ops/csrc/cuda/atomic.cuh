// psroi_atomic_add: the atomic accumulation that ps_roi_kernels.cuh expects from the file
// that includes it. Gradients accumulate in float (half/bfloat16 inputs) or double, for which
// CUDA has native atomicAdd (double: sm_60 and newer).
#pragma once

namespace mmdet_psroi {
namespace cuda {

template <typename acc_t>
__device__ __forceinline__ void psroi_atomic_add(acc_t* address, acc_t value) {
  atomicAdd(address, value);
}

}  // namespace cuda
}  // namespace mmdet_psroi
