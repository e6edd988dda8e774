// Deformable PS RoI pooling on the CPU. The per-element math is common/deform_ps_roi_math.h;
// the work partition is the one of cpu/ps_roi_cpu.h:
//
//   forward and input gradient: work item = (bin (i, j), block of output channels), as for
//            PS RoI Align, so a worker reads (and writes) only the planes of its channels; for
//            each (RoI, bin, offset group) the valid samples' bilinear taps are collected once
//            and reused for every output channel of the group. Input channel
//            (c * kh + i) * kw + j belongs to exactly one work item, so each worker owns whole
//            gradient planes (no races, no atomics).
//   backward, offset gradient: the work items above write each output's share (race-free:
//            they own their outputs), then RoIs in parallel sum the shares of their outputs.
// Every gradient element accumulates in the same order whatever the thread count.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "common/deform_ps_roi_math.h"
#include "cpu/ps_roi_cpu.h"
#include "deform_ps_roi_pool.h"

namespace mmdet_psroi {
namespace cpu {
namespace {

// The valid samples of one (RoI, bin, group): their taps, in sample order, 4 per sample, and
// (for the offset gradient) the slopes of the weights.
template <typename acc_t>
struct DeformSamples {
  std::vector<BilinearTaps<acc_t>> taps;
  std::vector<acc_t> slope_y, slope_x;  // 4 per sample
  DeformBin<acc_t> bin;
  acc_t scale = 0;  // 1 / number of valid samples
  int64_t batch = -1;
};

// The rule `original` (common/deform_ps_roi_math.h) is a template argument.
template <typename acc_t, bool original>
struct DeformCollector {
  const acc_t* rois;
  const acc_t* offset;  // null: no offsets
  acc_t spatial_scale, trans_std;
  DeformShape s;
  bool with_slopes;

  // False when the RoI pools nothing (non-finite box, empty map, no valid sample).
  bool operator()(int64_t k, int64_t g, int64_t ph, int64_t pw, DeformSamples<acc_t>* out) const {
    out->taps.clear();
    out->slope_y.clear();
    out->slope_x.clear();
    acc_t box[4];
    if (s.height == 0 || s.width == 0 || !read_roi(rois + k * 5, &out->batch, box)) return false;
    out->bin = deform_bin<original>(box, spatial_scale, trans_std, offset, s, k, g, ph, pw);
    for_each_deform_sample<original>(s, out->bin, ph, pw,
                                     [&](acc_t y, acc_t x, const BilinearTaps<acc_t>& taps) {
      out->taps.push_back(taps);
      if (!with_slopes) return;
      acc_t dy[4], dx[4];
      bilinear_slopes<original>(s, taps, y, x, dy, dx);
      out->slope_y.insert(out->slope_y.end(), dy, dy + 4);
      out->slope_x.insert(out->slope_x.end(), dx, dx + 4);
    });
    if (out->taps.empty()) return false;
    out->scale = acc_t(1) / static_cast<acc_t>(out->taps.size());
    return true;
  }
};

inline int64_t output_index(const DeformShape& s, int64_t k, int64_t c, int64_t ph, int64_t pw) {
  return ((k * s.channels_out() + c) * s.pooled_h + ph) * s.pooled_w + pw;
}

inline int64_t plane_of(const DeformShape& s, int64_t batch, int64_t c, int64_t ph, int64_t pw) {
  return (batch * s.channels + ps_input_channel(c, ph, pw, s.pooled_h, s.pooled_w)) * s.height *
         s.width;
}

// Calls fn(k, c, samples) for every RoI k and output channel c of a work item's block, with
// the valid samples of (k, bin (ph, pw), group of c); samples are collected once per group.
template <typename acc_t, bool original, typename Fn>
void for_each_roi_and_channel(const DeformCollector<acc_t, original>& collect, int64_t num_rois,
                              int64_t ph, int64_t pw, int64_t c_begin, int64_t c_end,
                              const Fn& fn) {
  DeformSamples<acc_t> samples;
  for (int64_t k = 0; k < num_rois; ++k) {
    int64_t collected_group = -1;
    bool valid = false;
    for (int64_t c = c_begin; c < c_end; ++c) {
      const int64_t g = collect.s.group_of(c);
      if (g != collected_group) {
        valid = collect(k, g, ph, pw, &samples);
        collected_group = g;
      }
      fn(k, c, valid ? &samples : nullptr);
    }
  }
}

inline Shape work_shape(const DeformShape& s, int64_t num_rois) {
  return Shape{num_rois, s.batch, s.channels, s.height, s.width, s.pooled_h, s.pooled_w};
}

template <typename scalar_t, typename acc_t, bool original>
void forward(const scalar_t* input, const DeformCollector<acc_t, original>& collect,
             int64_t num_rois, scalar_t* output) {
  const DeformShape& s = collect.s;
  for_each_work_item(work_shape(s, num_rois), [&](int64_t ph, int64_t pw, int64_t c_begin,
                                                  int64_t c_end) {
    for_each_roi_and_channel(collect, num_rois, ph, pw, c_begin, c_end,
                             [&](int64_t k, int64_t c, const DeformSamples<acc_t>* samples) {
      acc_t sum = 0;
      if (samples != nullptr) {
        const scalar_t* src = input + plane_of(s, samples->batch, c, ph, pw);
        for (const auto& taps : samples->taps) {
          for (int t = 0; t < 4; ++t) {
            sum += taps.weight[t] * static_cast<acc_t>(src[taps.offset[t]]);
          }
        }
        sum = sum * samples->scale;
      }
      output[output_index(s, k, c, ph, pw)] = static_cast<scalar_t>(sum);
    });
  });
}

// grad_input (acc_t, uninitialised): each work item zeroes the planes it owns, then adds.
// With offsets, it also writes, for each output (k, c, ph, pw) it owns, that output's share of
// the offset gradient (the derivative of its valid samples with respect to their position,
// through the bilinear weights, times d(position)/d(offset)) into offset_share_{x,y}, laid out
// as the output; reduce_offset_shares() then sums the shares into grad_offset per RoI.
template <typename scalar_t, typename acc_t, bool original>
void backward_planes(const scalar_t* grad, const scalar_t* input,
                     const DeformCollector<acc_t, original>& collect, int64_t num_rois,
                     acc_t* grad_input, acc_t* offset_share_x, acc_t* offset_share_y) {
  const DeformShape& s = collect.s;
  const int64_t plane = s.height * s.width;
  for_each_work_item(work_shape(s, num_rois), [&](int64_t ph, int64_t pw, int64_t c_begin,
                                                  int64_t c_end) {
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t c = c_begin; c < c_end; ++c) {
        std::fill_n(grad_input + plane_of(s, n, c, ph, pw), plane, acc_t(0));
      }
    }
    for_each_roi_and_channel(collect, num_rois, ph, pw, c_begin, c_end,
                             [&](int64_t k, int64_t c, const DeformSamples<acc_t>* samples) {
      const int64_t out = output_index(s, k, c, ph, pw);
      if (samples == nullptr) {
        if (collect.with_slopes) offset_share_x[out] = offset_share_y[out] = 0;
        return;
      }
      const acc_t gk = static_cast<acc_t>(grad[out]) * samples->scale;
      const int64_t at = plane_of(s, samples->batch, c, ph, pw);
      acc_t* dst = grad_input + at;
      for (const auto& taps : samples->taps) {
        for (int t = 0; t < 4; ++t) dst[taps.offset[t]] += gk * taps.weight[t];
      }
      if (!collect.with_slopes) return;
      const scalar_t* src = input + at;
      acc_t sum_y = 0, sum_x = 0;
      const int64_t n = static_cast<int64_t>(samples->taps.size());
      for (int64_t i = 0; i < n; ++i) {
        acc_t vy = 0, vx = 0;
        for (int t = 0; t < 4; ++t) {
          const acc_t v = static_cast<acc_t>(src[samples->taps[i].offset[t]]);
          vy += samples->slope_y[i * 4 + t] * v;
          vx += samples->slope_x[i * 4 + t] * v;
        }
        sum_y += gk * vy;
        sum_x += gk * vx;
      }
      offset_share_x[out] = sum_x * samples->bin.dx_doffset;
      offset_share_y[out] = sum_y * samples->bin.dy_doffset;
    });
  });
}

// grad_offset (acc_t, zeroed) += the shares of the outputs of each RoI, RoIs in parallel, each
// RoI's outputs in order.
template <bool original, typename acc_t>
void reduce_offset_shares(const DeformShape& s, int64_t num_rois, const acc_t* share_x,
                          const acc_t* share_y, acc_t* grad_offset) {
  at::parallel_for(0, num_rois, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      for (int64_t c = 0; c < s.channels_out(); ++c) {
        const int64_t g = s.group_of(c);
        for (int64_t ph = 0; ph < s.pooled_h; ++ph) {
          for (int64_t pw = 0; pw < s.pooled_w; ++pw) {
            const int64_t out = output_index(s, k, c, ph, pw);
            grad_offset[deform_offset_index<original, acc_t>(s, k, g, 0, ph, pw)] += share_x[out];
            grad_offset[deform_offset_index<original, acc_t>(s, k, g, 1, ph, pw)] += share_y[out];
          }
        }
      }
    }
  });
}

template <typename acc_t, bool original>
DeformCollector<acc_t, original> make_collector(const at::Tensor& rois, const at::Tensor& offset,
                                      double spatial_scale, double trans_std,
                                      const DeformShape& s, bool with_slopes) {
  return {rois.const_data_ptr<acc_t>(),
          s.groups > 0 ? offset.const_data_ptr<acc_t>() : nullptr,
          static_cast<acc_t>(spatial_scale),
          static_cast<acc_t>(trans_std),
          s,
          with_slopes};
}

at::Tensor deform_ps_roi_pool_forward(const at::Tensor& input, const at::Tensor& rois,
                                      const at::Tensor& offset, double spatial_scale,
                                      int64_t pooled_h, int64_t pooled_w,
                                      int64_t sample_per_part, double trans_std, bool original) {
  check_deform_forward_args(input, rois, offset, pooled_h, pooled_w, sample_per_part);
  const DeformShape s = deform_shape(input.size(0), input.size(1), input.size(2), input.size(3),
                                     offset, pooled_h, pooled_w, sample_per_part);
  at::Tensor output = at::empty({rois.size(0), s.channels_out(), pooled_h, pooled_w},
                                input.options().memory_format(at::MemoryFormat::Contiguous));
  if (output.numel() == 0) return output;
  const auto acc_type = at::toOpMathType(input.scalar_type());
  const at::Tensor input_ = input.contiguous();
  const at::Tensor rois_ = rois.to(acc_type).contiguous();
  const at::Tensor offset_ = offset.to(acc_type).contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(),
                                  "deform_ps_roi_pool_forward", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    check_batch_indices(rois_.const_data_ptr<acc_t>(), work_shape(s, rois.size(0)));
    with_rule(original, [&](auto rule) {
      forward(input_.const_data_ptr<scalar_t>(),
              make_collector<acc_t, decltype(rule)::value>(rois_, offset_, spatial_scale,
                                                           trans_std, s, false),
              rois.size(0), output.mutable_data_ptr<scalar_t>());
    });
  });
  return output;
}

// input given: also the offset gradient (else zeros).
std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward(
    const at::Tensor& grad, const c10::optional<at::Tensor>& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, int64_t pooled_h, int64_t pooled_w,
    int64_t sample_per_part, double trans_std, int64_t batch, int64_t channels, int64_t height,
    int64_t width, bool original) {
  check_deform_backward_args(grad, input, rois, offset, pooled_h, pooled_w, sample_per_part,
                             batch, channels, height, width);
  const DeformShape s = deform_shape(batch, channels, height, width, offset, pooled_h, pooled_w,
                                     sample_per_part);
  const bool with_offset_grad = s.groups > 0 && input.has_value() && input->defined();
  const auto acc_type = at::toOpMathType(grad.scalar_type());
  at::Tensor grad_offset = at::zeros(offset.sizes(), offset.options().dtype(acc_type));
  if (grad.numel() == 0 || batch * channels * height * width == 0) {
    return {at::zeros({batch, channels, height, width}, grad.options()),
            grad_offset.to(offset.scalar_type())};
  }
  at::Tensor grad_input = at::empty({batch, channels, height, width},
                                    grad.options().dtype(acc_type));
  const at::Tensor grad_ = grad.contiguous();
  const at::Tensor input_ = with_offset_grad ? input->contiguous() : at::Tensor();
  const at::Tensor rois_ = rois.to(acc_type).contiguous();
  const at::Tensor offset_ = offset.to(acc_type).contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(),
                                  "deform_ps_roi_pool_backward", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    check_batch_indices(rois_.const_data_ptr<acc_t>(), work_shape(s, rois.size(0)));
    at::Tensor shares =
        at::empty({with_offset_grad ? 2 : 0, grad.numel()}, grad_offset.options());
    acc_t* share_x = with_offset_grad ? shares[0].mutable_data_ptr<acc_t>() : nullptr;
    acc_t* share_y = with_offset_grad ? shares[1].mutable_data_ptr<acc_t>() : nullptr;
    with_rule(original, [&](auto rule) {
      constexpr bool rule_original = decltype(rule)::value;
      backward_planes(grad_.const_data_ptr<scalar_t>(),
                      with_offset_grad ? input_.const_data_ptr<scalar_t>() : nullptr,
                      make_collector<acc_t, rule_original>(rois_, offset_, spatial_scale,
                                                           trans_std, s, with_offset_grad),
                      rois.size(0), grad_input.mutable_data_ptr<acc_t>(), share_x, share_y);
      if (with_offset_grad) {
        reduce_offset_shares<rule_original>(s, rois.size(0), share_x, share_y,
                                            grad_offset.mutable_data_ptr<acc_t>());
      }
    });
  });
  return {grad_input.to(grad.scalar_type()), grad_offset.to(offset.scalar_type())};
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, CPU, m) {
  m.impl("deform_ps_roi_pool", &deform_ps_roi_pool_forward);
  m.impl("deform_ps_roi_pool_backward", &deform_ps_roi_pool_backward);
}

}  // namespace cpu
}  // namespace mmdet_psroi
