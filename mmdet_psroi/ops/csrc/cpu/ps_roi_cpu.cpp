// PS RoI Pool and PS RoI Align on the CPU: the collectors of their taps (see ps_roi_cpu.h for
// the driver, common/ps_roi_ops.h for the entry points).
//   PS RoI Pool: the pixels of the bin's quantised, clipped rectangle (walked as a rectangle),
//     each of weight 1, scaled by 1 / area; `original` picks the quantisation rule
//     (common/ps_roi_math.h).
//   PS RoI Align: the 4 bilinear neighbours of each of the bin's grid_h x grid_w sample points,
//     scaled by 1 / (grid_h * grid_w).
#include <torch/library.h>

#include "common/ps_roi_ops.h"
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

template <typename acc_t>
struct AlignCollector {
  using Taps = ListTaps<acc_t>;
  acc_t spatial_scale;
  int64_t pooled_h, pooled_w, height, width, sampling_ratio;

  bool operator()(const acc_t* roi, int64_t ph, int64_t pw, Taps* taps) const {
    taps->clear();
    acc_t box[4];
    if (!read_roi(roi, &taps->batch, box)) return false;
    const AlignRoi<acc_t> r = align_roi(box, spatial_scale, pooled_h, pooled_w, sampling_ratio);
    TORCH_CHECK(!r.grid_clamped, "ps_roi_align: a RoI needs more than ",
                kMaxAdaptiveGrid, " sampling points per bin side with sampling_ratio=-1 (RoI ",
                box[0], ", ", box[1], ", ", box[2], ", ", box[3],
                "); pass a positive sampling_ratio or clip the RoIs to the image");
    if (r.grid_h <= 0 || r.grid_w <= 0) return false;
    for_each_align_tap(r, ph, pw, height, width, [&](int64_t at, acc_t w) { taps->add(at, w); });
    taps->scale = acc_t(1) / static_cast<acc_t>(r.grid_h * r.grid_w);
    return true;
  }
};

// The backend of common/ps_roi_ops.h: the makers of the collectors and the driver.
struct Backend {
  template <bool original>
  struct MakePool {
    double spatial_scale;

    template <typename scalar_t, typename acc_t>
    PoolCollector<acc_t, original> operator()(const Shape& s, scalar_t, acc_t) const {
      return {static_cast<acc_t>(spatial_scale), s.pooled_h, s.pooled_w, s.height, s.width};
    }
  };

  struct MakeAlign {
    double spatial_scale;
    int64_t sampling_ratio;

    template <typename scalar_t, typename acc_t>
    AlignCollector<acc_t> operator()(const Shape& s, scalar_t, acc_t) const {
      return {static_cast<acc_t>(spatial_scale), s.pooled_h, s.pooled_w, s.height, s.width,
              sampling_ratio};
    }
  };

  template <typename... Args>
  static at::Tensor forward(const Args&... args) {
    return forward_op(args...);
  }

  template <typename... Args>
  static at::Tensor backward(const Args&... args) {
    return backward_op(args...);
  }
};

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, CPU, m) { PsRoiOps<Backend>::register_kernels(m); }

}  // namespace cpu
}  // namespace mmdet_psroi
