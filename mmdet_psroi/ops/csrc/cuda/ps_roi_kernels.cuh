// CUDA kernels of PS RoI Pool / PS RoI Align: one thread per output (forward) or per output
// gradient (backward), grid-stride loops, 64-bit indices. The arithmetic is the shared
// per-element math of common/ps_roi_math.h, applied in the same order as the CPU kernels.
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

template <typename scalar_t, typename acc_t>
__global__ void ps_roi_pool_forward_kernel(int64_t total, const scalar_t* input,
                                           const acc_t* rois, acc_t spatial_scale,
                                           bool original, KernelShape s, scalar_t* output) {
  for (int64_t index = first_index(); index < total; index += grid_stride()) {
    const OutputIndex o = unravel(index, s);
    acc_t box[4];
    const int64_t plane = plane_offset(rois, o, s, box);
    acc_t value = 0;
    if (plane >= 0) {
      const PoolBin bin = pool_bin(
          pool_roi(box, spatial_scale, s.pooled_h, s.pooled_w, original), o.ph, o.pw, s.height,
          s.width);
      if (!bin.empty()) {
        acc_t sum = 0;
        for (int64_t h = bin.hstart; h < bin.hend; ++h) {
          for (int64_t w = bin.wstart; w < bin.wend; ++w) {
            sum += acc_t(1) * static_cast<acc_t>(input[plane + h * s.width + w]);
          }
        }
        value = sum * (acc_t(1) / static_cast<acc_t>(bin.area()));
      }
    }
    output[index] = static_cast<scalar_t>(value);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void ps_roi_pool_backward_kernel(int64_t total, const scalar_t* grad_output,
                                            const acc_t* rois, acc_t spatial_scale,
                                            bool original, KernelShape s, acc_t* grad_input) {
  for (int64_t index = first_index(); index < total; index += grid_stride()) {
    const OutputIndex o = unravel(index, s);
    acc_t box[4];
    const int64_t plane = plane_offset(rois, o, s, box);
    if (plane < 0) continue;
    const PoolBin bin = pool_bin(pool_roi(box, spatial_scale, s.pooled_h, s.pooled_w, original),
                                 o.ph, o.pw, s.height, s.width);
    if (bin.empty()) continue;
    const acc_t g =
        static_cast<acc_t>(grad_output[index]) * (acc_t(1) / static_cast<acc_t>(bin.area()));
    for (int64_t h = bin.hstart; h < bin.hend; ++h) {
      for (int64_t w = bin.wstart; w < bin.wend; ++w) {
        psroi_atomic_add(grad_input + plane + h * s.width + w, g * acc_t(1));
      }
    }
  }
}

template <typename scalar_t, typename acc_t>
__global__ void ps_roi_align_forward_kernel(int64_t total, const scalar_t* input,
                                            const acc_t* rois, acc_t spatial_scale,
                                            int64_t sampling_ratio, KernelShape s,
                                            scalar_t* output) {
  for (int64_t index = first_index(); index < total; index += grid_stride()) {
    const OutputIndex o = unravel(index, s);
    acc_t box[4];
    const int64_t plane = plane_offset(rois, o, s, box);
    acc_t value = 0;
    if (plane >= 0) {
      const AlignRoi<acc_t> r =
          align_roi(box, spatial_scale, s.pooled_h, s.pooled_w, sampling_ratio);
      if (r.grid_h > 0 && r.grid_w > 0) {
        acc_t sum = 0;
        BilinearTaps<acc_t> taps;
        for (int64_t iy = 0; iy < r.grid_h; ++iy) {
          for (int64_t ix = 0; ix < r.grid_w; ++ix) {
            acc_t y, x;
            align_sample(r, o.ph, o.pw, iy, ix, &y, &x);
            if (!bilinear_taps(y, x, s.height, s.width, &taps)) continue;
            for (int t = 0; t < 4; ++t) {
              sum += taps.weight[t] * static_cast<acc_t>(input[plane + taps.offset[t]]);
            }
          }
        }
        value = sum * (acc_t(1) / static_cast<acc_t>(r.grid_h * r.grid_w));
      }
    }
    output[index] = static_cast<scalar_t>(value);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void ps_roi_align_backward_kernel(int64_t total, const scalar_t* grad_output,
                                             const acc_t* rois, acc_t spatial_scale,
                                             int64_t sampling_ratio, KernelShape s,
                                             acc_t* grad_input) {
  for (int64_t index = first_index(); index < total; index += grid_stride()) {
    const OutputIndex o = unravel(index, s);
    acc_t box[4];
    const int64_t plane = plane_offset(rois, o, s, box);
    if (plane < 0) continue;
    const AlignRoi<acc_t> r =
        align_roi(box, spatial_scale, s.pooled_h, s.pooled_w, sampling_ratio);
    if (r.grid_h <= 0 || r.grid_w <= 0) continue;
    const acc_t g = static_cast<acc_t>(grad_output[index]) *
                    (acc_t(1) / static_cast<acc_t>(r.grid_h * r.grid_w));
    BilinearTaps<acc_t> taps;
    for (int64_t iy = 0; iy < r.grid_h; ++iy) {
      for (int64_t ix = 0; ix < r.grid_w; ++ix) {
        acc_t y, x;
        align_sample(r, o.ph, o.pw, iy, ix, &y, &x);
        if (!bilinear_taps(y, x, s.height, s.width, &taps)) continue;
        for (int t = 0; t < 4; ++t) {
          psroi_atomic_add(grad_input + plane + taps.offset[t], g * taps.weight[t]);
        }
      }
    }
  }
}

}  // namespace cuda
}  // namespace mmdet_psroi
