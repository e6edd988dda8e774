// CUDA kernels of PS RoI Pool / PS RoI Align: one thread per output (forward) or per output
// gradient (backward), grid-stride loops, 64-bit indices. One forward and one backward kernel
// serve both ops: index -> plane -> geometry -> taps is written once (visit_output and the
// ops' Geometry), the forward sums the taps, the backward scatters into them. The arithmetic
// is the shared per-element math of common/ps_roi_math.h, applied in the same order as the
// CPU kernels; PS RoI Pool's quantisation rule is a template argument, as on the CPU.
//
// Contract with the including file: it provides the CUDA names used here (blockIdx,
// blockDim, threadIdx, gridDim, __global__, __device__) and
// mmdet_psroi::cuda::psroi_atomic_add(acc_t* address, acc_t value): ps_roi_cuda.cu takes them
// from nvcc and cuda/atomic.cuh; the tests take them from a CPU emulation header, which runs
// these kernels' source on the CPU. So: no ATen, no CUDA intrinsics beyond those names.
//
// RoIs and grad_input have the accumulation type acc_t (float for half/bfloat16); grad_input
// must be zeroed. The kernels never fail (a CUDA op must not sync to report an error): a RoI
// with a non-finite coordinate or a batch index outside [0, batch) pools 0 and gets no
// gradient, and an adaptive sampling grid is clamped to kMaxAdaptiveGrid points per side (the
// CPU kernels refuse those RoIs instead). A map with no pixels (H or W = 0) pools 0.
#pragma once

#include <cstdint>

#include "common/ps_roi_math.h"

namespace mmdet_psroi {
namespace cuda {

struct KernelShape {
  int64_t batch, channels, height, width, pooled_h, pooled_w;
};

// (k, c, ph, pw) of a flat output index.
struct OutputIndex {
  int64_t k, c, ph, pw;
};

__device__ __forceinline__ OutputIndex unravel(int64_t index, const KernelShape& s) {
  const int64_t c_out = s.channels / (s.pooled_h * s.pooled_w);
  OutputIndex o;
  o.pw = index % s.pooled_w;
  o.ph = (index / s.pooled_w) % s.pooled_h;
  o.c = (index / (s.pooled_w * s.pooled_h)) % c_out;
  o.k = index / (s.pooled_w * s.pooled_h * c_out);
  return o;
}

__device__ __forceinline__ int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(blockDim.x) * gridDim.x;
}

// Offset of the input plane read by output o, or -1 when the RoI pools nothing.
template <typename acc_t>
__device__ __forceinline__ int64_t plane_offset(const acc_t* rois, const OutputIndex& o,
                                                const KernelShape& s, acc_t* box) {
  int64_t b;
  if (!read_roi(rois + o.k * 5, &b, box) || b < 0 || b >= s.batch) return -1;
  const int64_t channel = ps_input_channel(o.c, o.ph, o.pw, s.pooled_h, s.pooled_w);
  return (b * s.channels + channel) * s.height * s.width;
}

// The taps of one output: the input pixels it reads (offsets into its plane) with their
// weights, and the scale of their weighted sum. A Geometry (PoolGeometry, AlignGeometry)
// makes them from a RoI and a bin; the forward and the backward kernel both walk them.
//
// PS RoI Pool: the pixels of the quantised, clipped bin, each of weight 1, scaled by 1 / area.
template <typename acc_t>
struct PoolBinTaps {
  PoolBin bin;
  int64_t width;

  __device__ __forceinline__ bool empty() const { return bin.empty(); }
  __device__ __forceinline__ acc_t scale() const {
    return acc_t(1) / static_cast<acc_t>(bin.area());
  }
  // Calls fn(offset, weight) for every tap.
  template <typename Fn>
  __device__ __forceinline__ void visit(const Fn& fn) const {
    for (int64_t h = bin.hstart; h < bin.hend; ++h) {
      for (int64_t w = bin.wstart; w < bin.wend; ++w) fn(h * width + w, acc_t(1));
    }
  }
};

// The quantisation rule `original` (common/ps_roi_math.h) is a template argument.
template <typename acc_t, bool original>
struct PoolGeometry {
  acc_t spatial_scale;

  __device__ __forceinline__ PoolBinTaps<acc_t> operator()(const acc_t* box,
                                                           const OutputIndex& o,
                                                           const KernelShape& s) const {
    const PoolRoi<acc_t> r = pool_roi<original>(box, spatial_scale, s.pooled_h, s.pooled_w);
    return {pool_bin<original>(r, o.ph, o.pw, s.height, s.width), s.width};
  }
};

// PS RoI Align: the 4 bilinear neighbours of each of the grid_h x grid_w sample points,
// scaled by 1 / (grid_h * grid_w).
template <typename acc_t>
struct AlignBinTaps {
  AlignRoi<acc_t> roi;
  int64_t ph, pw, height, width;

  __device__ __forceinline__ bool empty() const { return roi.grid_h <= 0 || roi.grid_w <= 0; }
  __device__ __forceinline__ acc_t scale() const {
    return acc_t(1) / static_cast<acc_t>(roi.grid_h * roi.grid_w);
  }
  template <typename Fn>
  __device__ __forceinline__ void visit(const Fn& fn) const {
    for_each_align_tap(roi, ph, pw, height, width, fn);
  }
};

template <typename acc_t>
struct AlignGeometry {
  acc_t spatial_scale;
  int64_t sampling_ratio;

  __device__ __forceinline__ AlignBinTaps<acc_t> operator()(const acc_t* box,
                                                            const OutputIndex& o,
                                                            const KernelShape& s) const {
    return {align_roi(box, spatial_scale, s.pooled_h, s.pooled_w, sampling_ratio), o.ph, o.pw,
            s.height, s.width};
  }
};

// Calls fn(plane, taps) with the offset of the input plane that output `index` reads and
// the taps of its bin, unless it pools nothing (bad RoI, empty bin or grid).
template <typename acc_t, typename Geometry, typename Fn>
__device__ __forceinline__ void visit_output(int64_t index, const acc_t* rois,
                                             const Geometry& geometry, const KernelShape& s,
                                             const Fn& fn) {
  const OutputIndex o = unravel(index, s);
  acc_t box[4];
  const int64_t plane = plane_offset(rois, o, s, box);
  if (plane < 0) return;
  const auto taps = geometry(box, o, s);
  if (!taps.empty()) fn(plane, taps);
}

template <typename scalar_t, typename acc_t, typename Geometry>
__global__ void ps_roi_forward_kernel(int64_t total, const scalar_t* input, const acc_t* rois,
                                      Geometry geometry, KernelShape s, scalar_t* output) {
  for (int64_t index = first_index(); index < total; index += grid_stride()) {
    acc_t value = 0;
    visit_output(index, rois, geometry, s, [&](int64_t plane, const auto& taps) {
      acc_t sum = 0;
      taps.visit([&](int64_t at, acc_t w) { sum += w * static_cast<acc_t>(input[plane + at]); });
      value = sum * taps.scale();
    });
    output[index] = static_cast<scalar_t>(value);
  }
}

template <typename scalar_t, typename acc_t, typename Geometry>
__global__ void ps_roi_backward_kernel(int64_t total, const scalar_t* grad_output,
                                       const acc_t* rois, Geometry geometry, KernelShape s,
                                       acc_t* grad_input) {
  for (int64_t index = first_index(); index < total; index += grid_stride()) {
    visit_output(index, rois, geometry, s, [&](int64_t plane, const auto& taps) {
      const acc_t g = static_cast<acc_t>(grad_output[index]) * taps.scale();
      taps.visit([&](int64_t at, acc_t w) { psroi_atomic_add(grad_input + plane + at, g * w); });
    });
  }
}

}  // namespace cuda
}  // namespace mmdet_psroi
