// The CPU driver shared by PS RoI Pool and PS RoI Align.
//
// Both ops read, for output bin (k, c, i, j), a weighted sum of input pixels ("taps") of
// channel (c * kh + i) * kw + j, times a per-bin scale (1 / bin area, 1 / sample count).
// A collector (PoolCollector, AlignCollector) computes the taps of one (RoI, bin) from the
// shared per-element math in common/ps_roi_math.h; this driver does the rest:
//
//   work item = (bin (i, j), block of output channels c), run in parallel;
//   for every RoI: collect its taps for bin (i, j) once, reuse them for every c of the block.
//
// The backward uses the same partition. Input channel (c * kh + i) * kw + j belongs to exactly
// one work item, so each worker owns whole gradient planes: no races, no atomics, and every
// plane accumulates in the same order (RoI order, then tap order) whatever the thread count.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/ps_roi_checks.h"
#include "common/ps_roi_math.h"

namespace mmdet_psroi {
namespace cpu {

// The input pixels a (RoI, bin) reads, with their weights, and the bin's scale and image.
// Each collector fills its own kind (Collector::Taps), so a kernel's loops walk one kind only:
// PS RoI Pool's bin is a rectangle of weight-1 pixels, walked row by row without building a
// list; PS RoI Align's taps are a list of (offset, weight) bilinear neighbours.
template <typename acc_t>
struct RectangleTaps {
  int64_t h0 = 0, h1 = 0, w0 = 0, w1 = 0, row = 0;  // [h0, h1) x [w0, w1), row = W
  acc_t scale = 0;
  int64_t batch = -1;

  void clear() {
    scale = 0;
    batch = -1;
  }
  void set(int64_t hstart, int64_t hend, int64_t wstart, int64_t wend, int64_t width) {
    h0 = hstart, h1 = hend, w0 = wstart, w1 = wend, row = width;
  }
  // Calls fn(offset, weight) for every pixel, offsets into one H x W plane.
  template <typename Fn>
  void visit(const Fn& fn) const {
    const int64_t n = w1 - w0;
    for (int64_t at = h0 * row + w0, end = h1 * row + w0; at < end; at += row) {
      for (int64_t w = 0; w < n; ++w) fn(at + w, acc_t(1));
    }
  }
};

template <typename acc_t>
struct ListTaps {
  std::vector<int64_t> offset;  // into one H x W plane
  std::vector<acc_t> weight;
  acc_t scale = 0;
  int64_t batch = -1;

  void clear() {
    offset.clear();
    weight.clear();
    scale = 0;
    batch = -1;
  }
  void add(int64_t at, acc_t w) {
    offset.push_back(at);
    weight.push_back(w);
  }
  // Calls fn(offset, weight) for every tap.
  template <typename Fn>
  void visit(const Fn& fn) const {
    const int64_t n = static_cast<int64_t>(offset.size());
    for (int64_t t = 0; t < n; ++t) fn(offset[t], weight[t]);
  }
};

struct Shape {
  int64_t num_rois, batch, channels, height, width, pooled_h, pooled_w;
  int64_t channels_out() const { return channels / (pooled_h * pooled_w); }
  int64_t plane() const { return height * width; }
  // Offset of the H x W plane that output channel c of bin (ph, pw) reads in image n.
  int64_t plane_offset(int64_t n, int64_t c, int64_t ph, int64_t pw) const {
    return (n * channels + ps_input_channel(c, ph, pw, pooled_h, pooled_w)) * plane();
  }
};

// Refuses batch indices outside [0, N) with a message that names the RoI.
template <typename acc_t>
void check_batch_indices(const acc_t* rois, const Shape& s) {
  for (int64_t k = 0; k < s.num_rois; ++k) {
    const double b = static_cast<double>(rois[k * 5]);
    const bool out_of_range = b < 0 || b >= static_cast<double>(s.batch);
    TORCH_CHECK(!(is_finite(b) && out_of_range),
                "ps_roi: rois[", k, ", 0] = ", b, " is not a batch index of the input (expected ",
                "0 <= index < ", s.batch, ")");
  }
}

// Runs fn(ph, pw, c_begin, c_end) over all (bin, channel block) work items in parallel.
template <typename Fn>
void for_each_work_item(const Shape& s, const Fn& fn) {
  const int64_t bins = s.pooled_h * s.pooled_w;
  const int64_t c_out = s.channels_out();
  const int64_t wanted_items = 4 * static_cast<int64_t>(at::get_num_threads());
  const int64_t blocks = std::max<int64_t>(1, std::min(c_out, (wanted_items + bins - 1) / bins));
  const int64_t block = (c_out + blocks - 1) / blocks;
  at::parallel_for(0, bins * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t bin = item % bins, c_begin = (item / bins) * block;
      fn(bin / s.pooled_w, bin % s.pooled_w, c_begin, std::min(c_out, c_begin + block));
    }
  });
}

// The kernels read and write outputs in the bin-major layout (K, kh, kw, C_out), where the
// channels of one (RoI, bin) are contiguous: a work item then touches whole cache lines instead
// of one element per line (the (K, C_out, kh, kw) layout strides channels by kh * kw). The
// tensor-level entry points transpose to and from the op's (K, C_out, kh, kw) layout.
inline int64_t bin_row(int64_t k, int64_t ph, int64_t pw, const Shape& s) {
  return ((k * s.pooled_h + ph) * s.pooled_w + pw) * s.channels_out();
}

template <typename scalar_t, typename acc_t, typename Collector>
void forward(const scalar_t* input, const acc_t* rois, const Shape& s,
             const Collector& collect, scalar_t* output) {
  check_batch_indices(rois, s);
  for_each_work_item(s, [&](int64_t ph, int64_t pw, int64_t c_begin, int64_t c_end) {
    typename Collector::Taps taps;
    for (int64_t k = 0; k < s.num_rois; ++k) {
      scalar_t* out = output + bin_row(k, ph, pw, s);
      if (!collect(rois + k * 5, ph, pw, &taps)) {
        std::fill(out + c_begin, out + c_end, scalar_t(0));
        continue;
      }
      for (int64_t c = c_begin; c < c_end; ++c) {
        const scalar_t* src = input + s.plane_offset(taps.batch, c, ph, pw);
        acc_t sum = 0;
        taps.visit([&](int64_t at, acc_t w) { sum += w * static_cast<acc_t>(src[at]); });
        out[c] = static_cast<scalar_t>(sum * taps.scale);
      }
    }
  });
}

// grad_input may be uninitialised: each work item zeroes the planes it owns (in every image)
// just before accumulating into them, so they are written while in cache, not in a separate
// pass. It has the accumulation type (float for half/bfloat16).
template <typename scalar_t, typename acc_t, typename Collector>
void backward(const scalar_t* grad_output, const acc_t* rois, const Shape& s,
              const Collector& collect, acc_t* grad_input) {
  check_batch_indices(rois, s);
  for_each_work_item(s, [&](int64_t ph, int64_t pw, int64_t c_begin, int64_t c_end) {
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t c = c_begin; c < c_end; ++c) {
        std::fill_n(grad_input + s.plane_offset(n, c, ph, pw), s.plane(), acc_t(0));
      }
    }
    typename Collector::Taps taps;
    for (int64_t k = 0; k < s.num_rois; ++k) {
      if (!collect(rois + k * 5, ph, pw, &taps)) continue;
      const scalar_t* grad = grad_output + bin_row(k, ph, pw, s);
      for (int64_t c = c_begin; c < c_end; ++c) {
        const acc_t g = static_cast<acc_t>(grad[c]) * taps.scale;
        acc_t* dst = grad_input + s.plane_offset(taps.batch, c, ph, pw);
        taps.visit([&](int64_t at, acc_t w) { dst[at] += g * w; });
      }
    }
  });
}

// Tensor-level entry points: check the arguments, dispatch on dtype, convert the RoIs to the
// accumulation type, make inputs contiguous, allocate outputs, transpose between the op
// layout and the kernels' bin-major layout. A map with no pixels (N, H or W = 0) pools 0.
// make_collector(shape, scalar_t tag, acc_t tag) returns the collector for that type pair.
template <typename MakeCollector>
at::Tensor forward_op(const char* name, const at::Tensor& input, const at::Tensor& rois,
                      int64_t pooled_h, int64_t pooled_w, const MakeCollector& make_collector) {
  check_forward_args(name, input, rois, pooled_h, pooled_w);
  const Shape s{rois.size(0),  input.size(0), input.size(1), input.size(2),
                input.size(3), pooled_h,      pooled_w};
  if (s.num_rois == 0 || s.channels_out() == 0 || input.numel() == 0) {
    check_batch_indices(rois.to(at::kDouble).contiguous().const_data_ptr<double>(), s);
    return at::zeros({s.num_rois, s.channels_out(), pooled_h, pooled_w}, input.options());
  }
  at::Tensor output = at::empty({s.num_rois, pooled_h, pooled_w, s.channels_out()},
                                input.options().memory_format(at::MemoryFormat::Contiguous));
  const at::Tensor input_ = input.contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "ps_roi_forward", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const at::Tensor rois_ = rois.to(c10::CppTypeToScalarType<acc_t>::value).contiguous();
    forward<scalar_t, acc_t>(input_.const_data_ptr<scalar_t>(), rois_.const_data_ptr<acc_t>(),
                             s, make_collector(s, scalar_t(0), acc_t(0)),
                             output.mutable_data_ptr<scalar_t>());
  });
  return output.permute({0, 3, 1, 2}).contiguous();
}

template <typename MakeCollector>
at::Tensor backward_op(const char* name, const at::Tensor& grad, const at::Tensor& rois,
                       int64_t pooled_h, int64_t pooled_w, int64_t batch, int64_t channels,
                       int64_t height, int64_t width, const MakeCollector& make_collector) {
  check_backward_args(name, grad, rois, pooled_h, pooled_w, batch, channels, height, width);
  const Shape s{rois.size(0), batch, channels, height, width, pooled_h, pooled_w};
  if (grad.numel() == 0 || batch * channels * height * width == 0) {
    check_batch_indices(rois.to(at::kDouble).contiguous().const_data_ptr<double>(), s);
    return at::zeros({batch, channels, height, width}, grad.options());
  }
  const auto acc_type = at::toOpMathType(grad.scalar_type());
  at::Tensor grad_input =
      at::empty({batch, channels, height, width}, grad.options().dtype(acc_type));
  const at::Tensor grad_ = grad.permute({0, 2, 3, 1}).contiguous();
  const at::Tensor rois_ = rois.to(acc_type).contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "ps_roi_backward", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    backward<scalar_t, acc_t>(grad_.const_data_ptr<scalar_t>(), rois_.const_data_ptr<acc_t>(),
                              s, make_collector(s, scalar_t(0), acc_t(0)),
                              grad_input.mutable_data_ptr<acc_t>());
  });
  return grad_input.to(grad.scalar_type());
}

}  // namespace cpu
}  // namespace mmdet_psroi
