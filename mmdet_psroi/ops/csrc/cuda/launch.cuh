// The launch grid of every kernel of the ops, and their launch: one thread per output (forward) or gradient
// (backward) element, kThreads per block, at most kMaxBlocks blocks; the kernels loop over
// the elements with a grid stride, so a larger tensor just takes more rounds.
#pragma once

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <algorithm>
#include <cstdint>
#include <utility>

namespace mmdet_psroi {
namespace cuda {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

inline dim3 blocks_for(int64_t total) {
  return dim3(static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks)));
}

// Launches kernel(total, args...) on that grid, on the current stream, and checks the launch.
template <typename... Params, typename... Args>
void launch(void (*kernel)(int64_t, Params...), int64_t total, Args&&... args) {
  kernel<<<blocks_for(total), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
      total, std::forward<Args>(args)...);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace cuda
}  // namespace mmdet_psroi
