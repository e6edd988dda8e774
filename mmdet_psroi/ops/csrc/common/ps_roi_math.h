// Per-element arithmetic of position-sensitive RoI pooling, shared by the CPU kernels
// (cpu/*.cpp) and the CUDA kernels (cuda/ps_roi_kernels.cuh), so that the CPU tests cover
// the arithmetic the GPU runs. Header-only, no ATen: plain C++ that nvcc also compiles.
//
// Conventions (torchvision's):
//   input  (N, C_out * kh * kw, H, W); output (K, C_out, kh, kw)
//   rois   (K, 5) = (batch_index, x1, y1, x2, y2) in image coordinates
//   output bin (c, i, j) reads input channel (c * kh + i) * kw + j.
// A RoI with a non-finite coordinate pools nothing: its outputs are 0 and it gets no
// gradient. acc_t is the accumulation type (float for half/bfloat16/float, double for
// double); the dispatchers convert the RoIs to it, so the kernels read RoIs as acc_t and a
// half/bfloat16 map keeps fp32 RoI coordinates.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__CUDACC__) || defined(PSROI_EMULATE_CUDA)
#define PSROI_HOST_DEVICE __host__ __device__
#else
#define PSROI_HOST_DEVICE
#endif

namespace mmdet_psroi {

// Scaled coordinates are clamped to +-2^24 before any cast to int, so absurd but finite
// RoIs cannot overflow integer arithmetic (every bin of such a RoI lies off any real map).
constexpr double kCoordinateLimit = 16777216.0;
// Largest adaptive sampling grid per bin side (sampling_ratio = -1). The CPU kernels refuse a
// RoI that needs more; the CUDA kernels (which must not sync to report it) clamp to it.
constexpr int64_t kMaxAdaptiveGrid = 1 << 16;

// Calls fn(std::integral_constant<bool, original>) and returns its result: the kernels take
// the rule of an op (`original` in the op schemas: PS RoI Pool's Caffe quantisation,
// deformable PS RoI pooling's Deformable-ConvNets placement) as a template argument.
template <typename Fn>
inline auto with_rule(bool original, const Fn& fn) {
  return original ? fn(std::true_type{}) : fn(std::false_type{});
}

template <typename acc_t>
PSROI_HOST_DEVICE inline bool is_finite(acc_t v) {
  return (v - v) == (v - v);  // false for NaN and +-inf
}

template <typename acc_t>
PSROI_HOST_DEVICE inline acc_t clamp_coordinate(acc_t v) {
  const acc_t limit = static_cast<acc_t>(kCoordinateLimit);
  return v < -limit ? -limit : (v > limit ? limit : v);
}

// The input channel that output bin (c_out, ph, pw) reads.
PSROI_HOST_DEVICE inline int64_t ps_input_channel(int64_t c_out, int64_t ph, int64_t pw,
                                                  int64_t pooled_h, int64_t pooled_w) {
  return (c_out * pooled_h + ph) * pooled_w + pw;
}

// Reads the batch index and the 4 coordinates of RoI `roi` (a pointer to its 5 values).
// Returns false (pool nothing) if any value is non-finite or the batch index is negative or
// absurd (>= 2^24, beyond exact float integers); callers check it against the batch size.
template <typename acc_t>
PSROI_HOST_DEVICE inline bool read_roi(const acc_t* roi, int64_t* batch, acc_t* box) {
  const acc_t b = roi[0];
  bool valid = is_finite(b) && b >= 0 && b < static_cast<acc_t>(kCoordinateLimit);
  for (int i = 0; i < 4; ++i) {
    box[i] = roi[i + 1];
    valid = valid && is_finite(box[i]);
  }
  *batch = valid ? static_cast<int64_t>(b) : -1;
  return valid;
}

// ---------------------------------------------------------------------------------------
// PS RoI Pool: quantised RoI and bins, bins clipped to [0, H] x [0, W] (as in the original
// R-FCN layer and torchvision's CUDA kernels and backward); an empty bin pools 0. Two rules
// quantise the RoI and its bins:
//   torchvision's (original = false): corners round(x * scale), no +1; the RoI is at least
//     1 x 1 cell; bin i spans [floor(i * bin) + start, ceil((i + 1) * bin) + start).
//   R-FCN's Caffe PSROIPooling layer (original = true): start round(x1) * scale, end
//     (round(x2) + 1) * scale, not rounded again; the RoI is at least 0.1 cell; bin i spans
//     [floor(i * bin + start), ceil((i + 1) * bin + start)).
// Both compute in acc_t whatever the RoIs' dtype (float32 for half/bfloat16/float32 maps).
// The rule is a template argument (see with_rule), so that per-bin code has no branch on it.
// ---------------------------------------------------------------------------------------
struct PoolBin {
  int64_t hstart, hend, wstart, wend;
  PSROI_HOST_DEVICE bool empty() const { return hend <= hstart || wend <= wstart; }
  PSROI_HOST_DEVICE int64_t area() const { return (hend - hstart) * (wend - wstart); }
};

template <typename acc_t>
struct PoolRoi {
  acc_t start_h, start_w;  // whole cells in torchvision's rule
  acc_t bin_h, bin_w;
};

// box = (x1, y1, x2, y2) finite, in image coordinates.
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline PoolRoi<acc_t> pool_roi(const acc_t* box, acc_t spatial_scale,
                                                 int64_t pooled_h, int64_t pooled_w) {
  PoolRoi<acc_t> r;
  acc_t roi_w, roi_h;
  if constexpr (original) {
    r.start_w = clamp_coordinate(static_cast<acc_t>(::round(box[0])) * spatial_scale);
    r.start_h = clamp_coordinate(static_cast<acc_t>(::round(box[1])) * spatial_scale);
    const acc_t end_w = clamp_coordinate(static_cast<acc_t>(::round(box[2]) + 1) * spatial_scale);
    const acc_t end_h = clamp_coordinate(static_cast<acc_t>(::round(box[3]) + 1) * spatial_scale);
    // Too small RoIs are forced to 0.1 x 0.1 cells.
    const acc_t min_size = static_cast<acc_t>(0.1);
    roi_w = end_w - r.start_w > min_size ? end_w - r.start_w : min_size;
    roi_h = end_h - r.start_h > min_size ? end_h - r.start_h : min_size;
  } else {
    r.start_w = static_cast<acc_t>(::round(clamp_coordinate(box[0] * spatial_scale)));
    r.start_h = static_cast<acc_t>(::round(clamp_coordinate(box[1] * spatial_scale)));
    const acc_t end_w = static_cast<acc_t>(::round(clamp_coordinate(box[2] * spatial_scale)));
    const acc_t end_h = static_cast<acc_t>(::round(clamp_coordinate(box[3] * spatial_scale)));
    // Too small RoIs are forced to 1x1.
    roi_w = end_w - r.start_w > 1 ? end_w - r.start_w : 1;
    roi_h = end_h - r.start_h > 1 ? end_h - r.start_h : 1;
  }
  r.bin_h = roi_h / static_cast<acc_t>(pooled_h);
  r.bin_w = roi_w / static_cast<acc_t>(pooled_w);
  return r;
}

PSROI_HOST_DEVICE inline int64_t clip(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// One edge of a bin, `offset` (i * bin or (i + 1) * bin) from the RoI's start, rounded down
// (a start) or up (an end), in map cells.
template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline int64_t pool_edge(acc_t offset, acc_t start, bool up) {
  if constexpr (original) {  // float start, added before rounding
    const acc_t edge = offset + start;
    return static_cast<int64_t>(up ? ::ceil(edge) : ::floor(edge));
  } else {
    return static_cast<int64_t>(up ? ::ceil(offset) : ::floor(offset)) +
           static_cast<int64_t>(start);
  }
}

template <bool original, typename acc_t>
PSROI_HOST_DEVICE inline PoolBin pool_bin(const PoolRoi<acc_t>& r, int64_t ph, int64_t pw,
                                          int64_t height, int64_t width) {
  PoolBin b;
  b.hstart = clip(pool_edge<original>(static_cast<acc_t>(ph) * r.bin_h, r.start_h, false), 0,
                  height);
  b.hend = clip(pool_edge<original>(static_cast<acc_t>(ph + 1) * r.bin_h, r.start_h, true), 0,
                height);
  b.wstart = clip(pool_edge<original>(static_cast<acc_t>(pw) * r.bin_w, r.start_w, false), 0,
                  width);
  b.wend = clip(pool_edge<original>(static_cast<acc_t>(pw + 1) * r.bin_w, r.start_w, true), 0,
                width);
  return b;
}

// ---------------------------------------------------------------------------------------
// PS RoI Align: continuous RoI with torchvision's half-pixel offset, sampling_ratio points
// per bin side (adaptive ceil(roi_size / pooled_size) when <= 0), bilinear sampling.
// ---------------------------------------------------------------------------------------
template <typename acc_t>
struct AlignRoi {
  acc_t start_h, start_w, bin_h, bin_w;
  int64_t grid_h, grid_w;
  bool grid_clamped;  // the adaptive grid needed more than kMaxAdaptiveGrid points per side
};

// box finite. An adaptive grid is clamped to [0, kMaxAdaptiveGrid] per side (grid_clamped
// tells when the limit cut it): the CPU kernels refuse such RoIs, the CUDA kernels use the
// clamped grid.
template <typename acc_t>
PSROI_HOST_DEVICE inline AlignRoi<acc_t> align_roi(const acc_t* box, acc_t spatial_scale,
                                                   int64_t pooled_h, int64_t pooled_w,
                                                   int64_t sampling_ratio) {
  AlignRoi<acc_t> r;
  const acc_t half = static_cast<acc_t>(0.5);
  r.start_w = box[0] * spatial_scale - half;
  r.start_h = box[1] * spatial_scale - half;
  const acc_t roi_w = box[2] * spatial_scale - half - r.start_w;
  const acc_t roi_h = box[3] * spatial_scale - half - r.start_h;
  r.bin_h = roi_h / static_cast<acc_t>(pooled_h);
  r.bin_w = roi_w / static_cast<acc_t>(pooled_w);
  r.grid_clamped = false;
  if (sampling_ratio > 0) {
    r.grid_h = sampling_ratio;
    r.grid_w = sampling_ratio;
  } else {
    const acc_t limit = static_cast<acc_t>(kMaxAdaptiveGrid);
    const acc_t gh = ::ceil(r.bin_h), gw = ::ceil(r.bin_w);
    r.grid_clamped = gh > limit || gw > limit;
    r.grid_h = static_cast<int64_t>(gh > limit ? limit : (gh > 0 ? gh : 0));
    r.grid_w = static_cast<int64_t>(gw > limit ? limit : (gw > 0 ? gw : 0));
  }
  return r;
}

// Sample point (iy, ix) of bin (ph, pw).
template <typename acc_t>
PSROI_HOST_DEVICE inline void align_sample(const AlignRoi<acc_t>& r, int64_t ph, int64_t pw,
                                           int64_t iy, int64_t ix, acc_t* y, acc_t* x) {
  const acc_t hstart = static_cast<acc_t>(ph) * r.bin_h + r.start_h;
  const acc_t wstart = static_cast<acc_t>(pw) * r.bin_w + r.start_w;
  *y = hstart + static_cast<acc_t>(iy + .5f) * r.bin_h / static_cast<acc_t>(r.grid_h);
  *x = wstart + static_cast<acc_t>(ix + .5f) * r.bin_w / static_cast<acc_t>(r.grid_w);
}

// The 4 bilinear taps of a point: offsets into an H x W plane and their weights.
template <typename acc_t>
struct BilinearTaps {
  int64_t offset[4];
  acc_t weight[4];
};

// Returns false when the point lies outside [-1, H] x [-1, W] or is NaN, or the map is empty
// (it contributes 0).
template <typename acc_t>
PSROI_HOST_DEVICE inline bool bilinear_taps(acc_t y, acc_t x, int64_t height, int64_t width,
                                            BilinearTaps<acc_t>* taps) {
  if (height <= 0 || width <= 0 || !(y >= -1 && y <= height && x >= -1 && x <= width)) {
    return false;
  }
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x);
  int64_t y_high, x_high;
  if (y_low >= height - 1) {
    y_high = y_low = height - 1;
    y = static_cast<acc_t>(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= width - 1) {
    x_high = x_low = width - 1;
    x = static_cast<acc_t>(x_low);
  } else {
    x_high = x_low + 1;
  }
  const acc_t ly = y - y_low, lx = x - x_low;
  const acc_t hy = 1 - ly, hx = 1 - lx;
  taps->offset[0] = y_low * width + x_low;
  taps->offset[1] = y_low * width + x_high;
  taps->offset[2] = y_high * width + x_low;
  taps->offset[3] = y_high * width + x_high;
  taps->weight[0] = hy * hx;
  taps->weight[1] = hy * lx;
  taps->weight[2] = ly * hx;
  taps->weight[3] = ly * lx;
  return true;
}

// Calls fn(offset, weight) for the 4 bilinear taps of every sample point of bin (ph, pw) that
// lies in the window, in sample order: the taps of a PS RoI Align bin, on both devices.
template <typename acc_t, typename Fn>
PSROI_HOST_DEVICE inline void for_each_align_tap(const AlignRoi<acc_t>& r, int64_t ph, int64_t pw,
                                                 int64_t height, int64_t width, const Fn& fn) {
  BilinearTaps<acc_t> taps;
  for (int64_t iy = 0; iy < r.grid_h; ++iy) {
    for (int64_t ix = 0; ix < r.grid_w; ++ix) {
      acc_t y, x;
      align_sample(r, ph, pw, iy, ix, &y, &x);
      if (!bilinear_taps(y, x, height, width, &taps)) continue;
      for (int t = 0; t < 4; ++t) fn(taps.offset[t], taps.weight[t]);
    }
  }
}

}  // namespace mmdet_psroi
