// PS RoI Pool on the CPU: the taps of a bin are the pixels of its quantised, clipped
// rectangle (walked as a rectangle), each of weight 1, scaled by 1 / area; `original` picks
// the quantisation rule (common/ps_roi_math.h). See ps_roi_cpu.h for the driver.
#include <torch/library.h>

#include "cpu/ps_roi_cpu.h"

namespace mmdet_psroi {
namespace cpu {
namespace {

// The rule is a template argument, so that each kernel's per-bin geometry has no branch.
template <typename acc_t, bool original>
struct PoolCollector {
  using Taps = RectangleTaps<acc_t>;
  acc_t spatial_scale;
  int64_t pooled_h, pooled_w, height, width;

  bool operator()(const acc_t* roi, int64_t ph, int64_t pw, Taps* taps) const {
    taps->clear();
    acc_t box[4];
    if (!read_roi(roi, &taps->batch, box)) return false;
    const PoolBin bin = pool_bin<original>(
        pool_roi<original>(box, spatial_scale, pooled_h, pooled_w), ph, pw, height, width);
    if (bin.empty()) return false;
    taps->set(bin.hstart, bin.hend, bin.wstart, bin.wend, width);
    taps->scale = acc_t(1) / static_cast<acc_t>(bin.area());
    return true;
  }
};

template <bool original>
struct MakePoolCollector {
  double spatial_scale;

  template <typename scalar_t, typename acc_t>
  PoolCollector<acc_t, original> operator()(const Shape& s, scalar_t, acc_t) const {
    return {static_cast<acc_t>(spatial_scale), s.pooled_h, s.pooled_w, s.height, s.width};
  }
};

at::Tensor ps_roi_pool_forward(const at::Tensor& input, const at::Tensor& rois,
                               double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                               bool original) {
  return with_rule(original, [&](auto rule) {
    return forward_op("ps_roi_pool", input, rois, pooled_h, pooled_w,
                      MakePoolCollector<decltype(rule)::value>{spatial_scale});
  });
}

at::Tensor ps_roi_pool_backward(const at::Tensor& grad, const at::Tensor& rois,
                                double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                int64_t batch, int64_t channels, int64_t height, int64_t width,
                                bool original) {
  return with_rule(original, [&](auto rule) {
    return backward_op("ps_roi_pool_backward", grad, rois, pooled_h, pooled_w, batch, channels,
                       height, width, MakePoolCollector<decltype(rule)::value>{spatial_scale});
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, CPU, m) {
  m.impl("ps_roi_pool", &ps_roi_pool_forward);
  m.impl("ps_roi_pool_backward", &ps_roi_pool_backward);
}

}  // namespace cpu
}  // namespace mmdet_psroi
