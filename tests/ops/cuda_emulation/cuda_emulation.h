// Just enough of CUDA to run the kernels' source (csrc/cuda/ps_roi_kernels.cuh) on the CPU:
// the qualifiers compile away, blockIdx/threadIdx/blockDim/gridDim are globals, a launch is
// two plain loops over blocks and threads, and the atomic add is a plain add (the loops are
// sequential). Include this before ps_roi_kernels.cuh.
#pragma once

#define PSROI_EMULATE_CUDA 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct EmulatedDim3 {
  unsigned x = 1, y = 1, z = 1;
};

inline EmulatedDim3 blockIdx, threadIdx, blockDim, gridDim;

// kernel<<<blocks, threads>>>(args...), one thread at a time.
template <typename Kernel, typename... Args>
void emulate_launch(unsigned blocks, unsigned threads, Kernel kernel, Args... args) {
  gridDim.x = blocks;
  blockDim.x = threads;
  for (unsigned b = 0; b < blocks; ++b) {
    blockIdx.x = b;
    for (unsigned t = 0; t < threads; ++t) {
      threadIdx.x = t;
      kernel(args...);
    }
  }
}

namespace mmdet_psroi {
namespace cuda {

template <typename acc_t>
inline void psroi_atomic_add(acc_t* address, acc_t value) {
  *address += value;
}

}  // namespace cuda
}  // namespace mmdet_psroi
