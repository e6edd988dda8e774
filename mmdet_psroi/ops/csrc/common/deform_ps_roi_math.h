// Per-element arithmetic of deformable position-sensitive RoI pooling (Deformable R-FCN),
// shared by the CPU kernels (cpu/deform_ps_roi_pool_cpu.cpp) and the CUDA kernels
// (cuda/deform_ps_roi_pool_kernels.cuh). Header-only, no ATen.
//
// Layout (both conventions):
//   input  (N, C_out * kh * kw, H, W); output (K, C_out, kh, kw); output bin (c, i, j) reads
//   input channel (c * kh + i) * kw + j, as PS RoI Align.
//   offset (K, 2 * G, parts_h, parts_w): G offset groups (G = 0: no offsets); output channel c
//   uses group c / (C_out / G); channel 2 * g holds the x offset, 2 * g + 1 the y offset.
//   A bin moves by (offset_x * trans_std * roi_width, offset_y * trans_std * roi_height) and
//   is the mean of its sample_per_part^2 bilinear samples that lie inside the window, 0 when
//   none does.
//
// Default convention (PS RoI Align's): continuous RoI with the half-pixel offset
// (x * scale - 0.5), samples at the centres of a regular grid of each bin, window
// [-1, H] x [-1, W] (bilinear_taps'), bin (i, j) uses part (i * parts_h / kh, j * parts_w / kw)
// (integer division). With no offsets it equals ps_roi_align(sampling_ratio=sample_per_part)
// wherever every sample lies inside the map.
//
// original (Deformable-ConvNets' DeformablePSROIPooling CUDA kernel, arithmetic order kept;
// a template argument of every function below that depends on it, see with_rule):
//   start = round(x1) * scale - 0.5, end = (round(x2) + 1) * scale - 0.5 (round: half away
//   from zero), RoI size max(end - start, 0.1); bin start = j * bin + start + trans * roi size;
//   sample (iy, ix) at bin start + (iy, ix) * bin / sample_per_part (sub-bin corners); window
//   [-0.5, H - 0.5] x [-0.5, W - 0.5]; part floor(i / kh * parts_h) in floating point; the
//   bilinear corners are floor and ceil of the clamped point, so a sample on an integer
//   coordinate gives no offset gradient along it. Unlike the original, a NaN sample is skipped.
#pragma once

#include <cstdint>

#include "common/ps_roi_math.h"

namespace mmdet_psroi {

struct DeformShape {
  int64_t batch, channels, height, width, pooled_h, pooled_w;
  int64_t groups, parts_h, parts_w, sample_per_part;

  PSROI_HOST_DEVICE int64_t channels_out() const { return channels / (pooled_h * pooled_w); }
  PSROI_HOST_DEVICE int64_t group_of(int64_t c) const {
    return groups > 0 ? c / (channels_out() / groups) : 0;
  }
};

// The part (along one axis, of `parts`) that bin `i` of `pooled` uses.
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline int64_t deform_part(int64_t i, int64_t pooled, int64_t parts) {
  if constexpr (original) {
    const int64_t part = static_cast<int64_t>(::floor(
        static_cast<acc_t>(i) / static_cast<acc_t>(pooled) * static_cast<acc_t>(parts)));
    return part < parts ? part : parts - 1;
  } else {
    return i * parts / pooled;
  }
}

// Index into offset of (RoI k, group g, axis 0 = x / 1 = y) for the part of bin (ph, pw).
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline int64_t deform_offset_index(const DeformShape& s, int64_t k, int64_t g,
                                                     int64_t axis, int64_t ph, int64_t pw) {
  const int64_t part_h = deform_part<original, acc_t>(ph, s.pooled_h, s.parts_h);
  const int64_t part_w = deform_part<original, acc_t>(pw, s.pooled_w, s.parts_w);
  return (((k * s.groups + g) * 2 + axis) * s.parts_h + part_h) * s.parts_w + part_w;
}

// A bin of one RoI, and the derivative of a sample position with respect to its offset value
// (trans_std * RoI size).
template <typename acc_t>
struct DeformBin {
  AlignRoi<acc_t> roi;      // default: PS RoI Align's geometry ...
  acc_t shift_y, shift_x;   // ... moved by the offset
  acc_t start_h, start_w;   // original: the first sample (offset included) ...
  acc_t step_h, step_w;     // ... and the sub-bin size
  acc_t dy_doffset, dx_doffset;
};

// box finite; offset null when the op has no offsets.
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline DeformBin<acc_t> deform_bin(const acc_t* box, acc_t spatial_scale,
                                                     acc_t trans_std, const acc_t* offset,
                                                     const DeformShape& s, int64_t k,
                                                     int64_t g, int64_t ph, int64_t pw) {
  DeformBin<acc_t> b;
  const bool moves = offset != nullptr;
  const acc_t offset_x =
      moves ? offset[deform_offset_index<original, acc_t>(s, k, g, 0, ph, pw)] : acc_t(0);
  const acc_t offset_y =
      moves ? offset[deform_offset_index<original, acc_t>(s, k, g, 1, ph, pw)] : acc_t(0);
  if constexpr (!original) {
    b.roi = align_roi(box, spatial_scale, s.pooled_h, s.pooled_w, s.sample_per_part);
    b.dy_doffset = trans_std * b.roi.bin_h * static_cast<acc_t>(s.pooled_h);
    b.dx_doffset = trans_std * b.roi.bin_w * static_cast<acc_t>(s.pooled_w);
    b.shift_x = moves ? offset_x * b.dx_doffset : acc_t(0);
    b.shift_y = moves ? offset_y * b.dy_doffset : acc_t(0);
  } else {
    const acc_t half = static_cast<acc_t>(0.5), min_size = static_cast<acc_t>(0.1);
    const acc_t roi_start_w = ::round(box[0]) * spatial_scale - half;
    const acc_t roi_start_h = ::round(box[1]) * spatial_scale - half;
    const acc_t roi_end_w = (::round(box[2]) + acc_t(1)) * spatial_scale - half;
    const acc_t roi_end_h = (::round(box[3]) + acc_t(1)) * spatial_scale - half;
    const acc_t roi_w = roi_end_w - roi_start_w > min_size ? roi_end_w - roi_start_w : min_size;
    const acc_t roi_h = roi_end_h - roi_start_h > min_size ? roi_end_h - roi_start_h : min_size;
    const acc_t bin_h = roi_h / static_cast<acc_t>(s.pooled_h);
    const acc_t bin_w = roi_w / static_cast<acc_t>(s.pooled_w);
    b.step_h = bin_h / static_cast<acc_t>(s.sample_per_part);
    b.step_w = bin_w / static_cast<acc_t>(s.sample_per_part);
    b.start_w = static_cast<acc_t>(pw) * bin_w + roi_start_w;
    b.start_h = static_cast<acc_t>(ph) * bin_h + roi_start_h;
    if (moves) {
      b.start_w += offset_x * trans_std * roi_w;
      b.start_h += offset_y * trans_std * roi_h;
    }
    b.dx_doffset = trans_std * roi_w;
    b.dy_doffset = trans_std * roi_h;
  }
  return b;
}

// Sample point (iy, ix) of bin (ph, pw).
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline void deform_sample(const DeformBin<acc_t>& b, int64_t ph, int64_t pw,
                                            int64_t iy, int64_t ix, acc_t* y, acc_t* x) {
  if constexpr (original) {
    *x = b.start_w + static_cast<acc_t>(ix) * b.step_w;
    *y = b.start_h + static_cast<acc_t>(iy) * b.step_h;
  } else {
    align_sample(b.roi, ph, pw, iy, ix, y, x);
    *y += b.shift_y;
    *x += b.shift_x;
  }
}

// The bilinear taps of a sample; false when it lies outside the convention's window (or is
// NaN, or the map is empty): it then does not count.
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline bool deform_taps(const DeformShape& s, acc_t y, acc_t x,
                                          BilinearTaps<acc_t>* taps) {
  if constexpr (original) {
    const acc_t half = static_cast<acc_t>(0.5);
    if (!(y >= -half && y <= static_cast<acc_t>(s.height) - half && x >= -half &&
          x <= static_cast<acc_t>(s.width) - half)) {
      return false;
    }
  }
  return bilinear_taps(y, x, s.height, s.width, taps);
}

// Calls fn(y, x, taps) for every sample of bin (ph, pw) that counts (inside the rule's
// window), in sample order: the loop of every deformable kernel, forward and backward.
template <bool original, typename acc_t, typename Fn>
PSROI_HOST_DEVICE inline void for_each_deform_sample(const DeformShape& s,
                                                     const DeformBin<acc_t>& b, int64_t ph,
                                                     int64_t pw, const Fn& fn) {
  BilinearTaps<acc_t> taps;
  for (int64_t iy = 0; iy < s.sample_per_part; ++iy) {
    for (int64_t ix = 0; ix < s.sample_per_part; ++ix) {
      acc_t y, x;
      deform_sample<original>(b, ph, pw, iy, ix, &y, &x);
      if (deform_taps<original>(s, y, x, &taps)) fn(y, x, taps);
    }
  }
}

// Derivatives of the 4 bilinear weights of taps (from deform_taps(s, y, x, ...)) with respect
// to y and x. Where bilinear_taps clamps a coordinate (y <= 0 or y >= H - 1), the sample does
// not move with it and its derivatives are 0; so in the original convention on an integer
// coordinate (its floor and ceil corners coincide).
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline void bilinear_slopes(const DeformShape& s,
                                              const BilinearTaps<acc_t>& taps, acc_t y, acc_t x,
                                              acc_t* dy, acc_t* dx) {
  const acc_t hy = taps.weight[0] + taps.weight[1], ly = taps.weight[2] + taps.weight[3];
  const acc_t hx = taps.weight[0] + taps.weight[2], lx = taps.weight[1] + taps.weight[3];
  const bool moves_y = y > 0 && y < static_cast<acc_t>(s.height - 1) &&
                       !(original && y == ::floor(y));
  const bool moves_x = x > 0 && x < static_cast<acc_t>(s.width - 1) &&
                       !(original && x == ::floor(x));
  dy[0] = moves_y ? -hx : acc_t(0);
  dy[1] = moves_y ? -lx : acc_t(0);
  dy[2] = moves_y ? hx : acc_t(0);
  dy[3] = moves_y ? lx : acc_t(0);
  dx[0] = moves_x ? -hy : acc_t(0);
  dx[1] = moves_x ? hy : acc_t(0);
  dx[2] = moves_x ? -ly : acc_t(0);
  dx[3] = moves_x ? ly : acc_t(0);
}

}  // namespace mmdet_psroi
