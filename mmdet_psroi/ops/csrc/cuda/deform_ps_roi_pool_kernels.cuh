// CUDA kernels of deformable PS RoI pooling: one thread per output (forward) or per output
// gradient (backward), grid-stride loops, 64-bit indices, the per-element math of
// common/deform_ps_roi_math.h in the same order as the CPU forward. The forward and the
// backward kernel walk the same samples (visit_samples); the rule is a template argument.
//
// Same contract as ps_roi_kernels.cuh: the including file provides the CUDA names and
// mmdet_psroi::cuda::psroi_atomic_add (deform_ps_roi_pool_cuda.cu: nvcc and cuda/atomic.cuh;
// the tests: a CPU emulation header). rois and offset have the accumulation type acc_t;
// offset is null when there are no offsets; grad_input and grad_offset (acc_t) must be zeroed;
// input and grad_offset are null when the offset gradient is not wanted.
// RoIs with a non-finite coordinate or a batch index outside [0, batch) pool 0.
#pragma once

#include <cstdint>

#include "common/deform_ps_roi_math.h"

namespace mmdet_psroi {
namespace cuda {

// The output element `index` of (K, C_out, kh, kw): its bin, and where its samples read.
template <typename acc_t>
struct DeformOutput {
  int64_t k, c, ph, pw, g, plane;  // plane < 0: pools nothing
  DeformBin<acc_t> bin;
};

template <bool original, typename acc_t>
__device__ __forceinline__ DeformOutput<acc_t> deform_output(
    int64_t index, const acc_t* rois, const acc_t* offset, acc_t spatial_scale,
    acc_t trans_std, const DeformShape& s) {
  DeformOutput<acc_t> o;
  o.pw = index % s.pooled_w;
  o.ph = (index / s.pooled_w) % s.pooled_h;
  o.c = (index / (s.pooled_w * s.pooled_h)) % s.channels_out();
  o.k = index / (s.pooled_w * s.pooled_h * s.channels_out());
  o.g = s.group_of(o.c);
  o.plane = -1;
  acc_t box[4];
  int64_t b;
  if (s.height == 0 || s.width == 0 || !read_roi(rois + o.k * 5, &b, box) || b < 0 ||
      b >= s.batch) {
    return o;
  }
  o.bin = deform_bin<original>(box, spatial_scale, trans_std, offset, s, o.k, o.g, o.ph, o.pw);
  o.plane = (b * s.channels + ps_input_channel(o.c, o.ph, o.pw, s.pooled_h, s.pooled_w)) *
            s.height * s.width;
  return o;
}

// Calls fn(y, x, taps) for every sample of output o that counts (none when it pools nothing):
// index -> plane -> bin -> samples, shared by the forward and the backward kernel.
template <bool original, typename acc_t, typename Fn>
__device__ __forceinline__ void visit_samples(const DeformShape& s, const DeformOutput<acc_t>& o,
                                              const Fn& fn) {
  if (o.plane >= 0) for_each_deform_sample<original>(s, o.bin, o.ph, o.pw, fn);
}

// The rule `original` (common/deform_ps_roi_math.h) is a template argument.
template <bool original, typename scalar_t, typename acc_t>
__global__ void deform_ps_roi_pool_forward_kernel(int64_t total, const scalar_t* input,
                                                  const acc_t* rois, const acc_t* offset,
                                                  acc_t spatial_scale, acc_t trans_std,
                                                  DeformShape s, scalar_t* output) {
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       index < total; index += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const DeformOutput<acc_t> o =
        deform_output<original>(index, rois, offset, spatial_scale, trans_std, s);
    acc_t sum = 0;
    int64_t count = 0;
    visit_samples<original>(s, o, [&](acc_t, acc_t, const BilinearTaps<acc_t>& taps) {
      for (int t = 0; t < 4; ++t) {
        sum += taps.weight[t] * static_cast<acc_t>(input[o.plane + taps.offset[t]]);
      }
      ++count;
    });
    output[index] =
        static_cast<scalar_t>(count > 0 ? sum * (acc_t(1) / static_cast<acc_t>(count)) : acc_t(0));
  }
}

template <bool original, typename scalar_t, typename acc_t>
__global__ void deform_ps_roi_pool_backward_kernel(int64_t total, const scalar_t* grad_output,
                                                   const scalar_t* input, const acc_t* rois,
                                                   const acc_t* offset, acc_t spatial_scale,
                                                   acc_t trans_std, DeformShape s,
                                                   acc_t* grad_input, acc_t* grad_offset) {
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       index < total; index += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const DeformOutput<acc_t> o =
        deform_output<original>(index, rois, offset, spatial_scale, trans_std, s);
    int64_t count = 0;
    visit_samples<original>(s, o, [&](acc_t, acc_t, const BilinearTaps<acc_t>&) { ++count; });
    if (count == 0) continue;
    const acc_t g =
        static_cast<acc_t>(grad_output[index]) * (acc_t(1) / static_cast<acc_t>(count));
    const bool with_offset_grad = offset != nullptr && grad_offset != nullptr;
    acc_t sum_y = 0, sum_x = 0;
    visit_samples<original>(s, o, [&](acc_t y, acc_t x, const BilinearTaps<acc_t>& taps) {
      for (int t = 0; t < 4; ++t) {
        psroi_atomic_add(grad_input + o.plane + taps.offset[t], g * taps.weight[t]);
      }
      if (!with_offset_grad) return;
      acc_t dy[4], dx[4];
      bilinear_slopes<original>(s, taps, y, x, dy, dx);
      acc_t vy = 0, vx = 0;
      for (int t = 0; t < 4; ++t) {
        const acc_t v = static_cast<acc_t>(input[o.plane + taps.offset[t]]);
        vy += dy[t] * v;
        vx += dx[t] * v;
      }
      sum_y += g * vy;
      sum_x += g * vx;
    });
    if (!with_offset_grad) continue;
    psroi_atomic_add(
        grad_offset + deform_offset_index<original, acc_t>(s, o.k, o.g, 0, o.ph, o.pw),
        sum_x * o.bin.dx_doffset);
    psroi_atomic_add(
        grad_offset + deform_offset_index<original, acc_t>(s, o.k, o.g, 1, o.ph, o.pw),
        sum_y * o.bin.dy_doffset);
  }
}

}  // namespace cuda
}  // namespace mmdet_psroi
