// Per-element arithmetic of deformable position-sensitive RoI pooling (Deformable R-FCN),
// shared by the CPU kernels (cpu/deform_ps_roi_pool_cpu.cpp) and the CUDA kernels
// (cuda/deform_ps_roi_pool_kernels.cuh). Header-only, no ATen.
//
// Conventions:
//   input  (N, C_out * kh * kw, H, W); output (K, C_out, kh, kw); output bin (c, i, j) reads
//   input channel (c * kh + i) * kw + j, as PS RoI Align.
//   offset (K, 2 * G, parts_h, parts_w): G offset groups (G = 0: no offsets); output channel c
//   uses group c / (C_out / G); channel 2 * g holds the x offset, 2 * g + 1 the y offset; bin
//   (i, j) uses part (i * parts_h / kh, j * parts_w / kw) (integer division).
//   The bin of PS RoI Align (continuous RoI, half-pixel offset, sample_per_part^2 points at
//   the centres of a regular grid) is moved by (offset_x * trans_std * roi_width,
//   offset_y * trans_std * roi_height). A sample counts when bilinear_taps() accepts it
//   (inside [-1, H] x [-1, W], as in PS RoI Align); the bin is the mean of the samples that
//   count, 0 when none does.
//
// Differences from the MXNet DeformablePSROIPooling kernel: MXNet rounds the RoI corners to
// integers, adds 1 to x2 and y2, shifts by -0.5, forces sizes >= 0.1, samples at the left/top
// edge of each sub-bin (not its centre), keeps samples inside [-0.5, W - 0.5] (not [-1, W])
// and computes the part index in floating point. So with zero offsets this op equals this
// package's ps_roi_align(sampling_ratio=sample_per_part) wherever every sample lies inside the
// map, not MXNet's layer.
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

// Index into offset of (RoI k, group g, axis 0 = x / 1 = y) for the part of bin (ph, pw).
PSROI_HOST_DEVICE inline int64_t deform_offset_index(const DeformShape& s, int64_t k, int64_t g,
                                                     int64_t axis, int64_t ph, int64_t pw) {
  const int64_t part_h = ph * s.parts_h / s.pooled_h, part_w = pw * s.parts_w / s.pooled_w;
  return (((k * s.groups + g) * 2 + axis) * s.parts_h + part_h) * s.parts_w + part_w;
}

// A bin of one RoI: PS RoI Align's geometry plus the shift of its part, and the derivative of
// a sample position with respect to its offset value (trans_std * RoI size).
template <typename acc_t>
struct DeformBin {
  AlignRoi<acc_t> roi;
  acc_t shift_y, shift_x, dy_doffset, dx_doffset;
};

// box finite; offset null when the op has no offsets.
template <typename acc_t>
PSROI_HOST_DEVICE inline DeformBin<acc_t> deform_bin(const acc_t* box, acc_t spatial_scale,
                                                     acc_t trans_std, const acc_t* offset,
                                                     const DeformShape& s, int64_t k,
                                                     int64_t g, int64_t ph, int64_t pw) {
  DeformBin<acc_t> b;
  b.roi = align_roi(box, spatial_scale, s.pooled_h, s.pooled_w, s.sample_per_part);
  b.dy_doffset = trans_std * b.roi.bin_h * static_cast<acc_t>(s.pooled_h);
  b.dx_doffset = trans_std * b.roi.bin_w * static_cast<acc_t>(s.pooled_w);
  b.shift_y = 0;
  b.shift_x = 0;
  if (offset != nullptr) {
    b.shift_x = offset[deform_offset_index(s, k, g, 0, ph, pw)] * b.dx_doffset;
    b.shift_y = offset[deform_offset_index(s, k, g, 1, ph, pw)] * b.dy_doffset;
  }
  return b;
}

// Sample point (iy, ix) of bin (ph, pw): PS RoI Align's point plus the shift.
template <typename acc_t>
PSROI_HOST_DEVICE inline void deform_sample(const DeformBin<acc_t>& b, int64_t ph, int64_t pw,
                                            int64_t iy, int64_t ix, acc_t* y, acc_t* x) {
  align_sample(b.roi, ph, pw, iy, ix, y, x);
  *y += b.shift_y;
  *x += b.shift_x;
}

// Derivatives of the 4 bilinear weights of taps (from bilinear_taps(y, x, ...)) with respect
// to y and x. Where bilinear_taps clamps a coordinate (y <= 0 or y >= H - 1), the sample does
// not move with it and its derivatives are 0.
template <typename acc_t>
PSROI_HOST_DEVICE inline void bilinear_slopes(const BilinearTaps<acc_t>& taps, acc_t y, acc_t x,
                                              int64_t height, int64_t width, acc_t* dy,
                                              acc_t* dx) {
  const acc_t hy = taps.weight[0] + taps.weight[1], ly = taps.weight[2] + taps.weight[3];
  const acc_t hx = taps.weight[0] + taps.weight[2], lx = taps.weight[1] + taps.weight[3];
  const bool moves_y = y > 0 && y < static_cast<acc_t>(height - 1);
  const bool moves_x = x > 0 && x < static_cast<acc_t>(width - 1);
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
