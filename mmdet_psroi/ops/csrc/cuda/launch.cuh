// The launch grid of every kernel of the op: one thread per output (forward) or gradient
// (backward) element, kThreads per block, at most kMaxBlocks blocks; the kernels loop over
// the elements with a grid stride, so a larger tensor just takes more rounds.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mmdet_psroi {
namespace cuda {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

inline dim3 blocks_for(int64_t total) {
  return dim3(static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks)));
}

}  // namespace cuda
}  // namespace mmdet_psroi
