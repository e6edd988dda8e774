// PS RoI Align on the CPU: the taps of a bin are the 4 bilinear neighbours of each of its
// grid_h x grid_w sample points, scaled by 1 / (grid_h * grid_w). See ps_roi_cpu.h.
#include <torch/library.h>

#include "cpu/ps_roi_cpu.h"

namespace mmdet_psroi {
namespace cpu {
namespace {

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
    BilinearTaps<acc_t> bilinear;
    for (int64_t iy = 0; iy < r.grid_h; ++iy) {
      for (int64_t ix = 0; ix < r.grid_w; ++ix) {
        acc_t y, x;
        align_sample(r, ph, pw, iy, ix, &y, &x);
        if (!bilinear_taps(y, x, height, width, &bilinear)) continue;
        for (int t = 0; t < 4; ++t) taps->add(bilinear.offset[t], bilinear.weight[t]);
      }
    }
    taps->scale = acc_t(1) / static_cast<acc_t>(r.grid_h * r.grid_w);
    return true;
  }
};

struct MakeAlignCollector {
  double spatial_scale;
  int64_t sampling_ratio;

  template <typename scalar_t, typename acc_t>
  AlignCollector<acc_t> operator()(const Shape& s, scalar_t, acc_t) const {
    return {static_cast<acc_t>(spatial_scale), s.pooled_h, s.pooled_w, s.height, s.width,
            sampling_ratio};
  }
};

at::Tensor ps_roi_align_forward(const at::Tensor& input, const at::Tensor& rois,
                                double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                int64_t sampling_ratio) {
  return forward_op("ps_roi_align", input, rois, pooled_h, pooled_w,
                    MakeAlignCollector{spatial_scale, sampling_ratio});
}

at::Tensor ps_roi_align_backward(const at::Tensor& grad, const at::Tensor& rois,
                                 double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                 int64_t sampling_ratio, int64_t batch, int64_t channels,
                                 int64_t height, int64_t width) {
  return backward_op("ps_roi_align_backward", grad, rois, pooled_h, pooled_w, batch, channels,
                     height, width, MakeAlignCollector{spatial_scale, sampling_ratio});
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, CPU, m) {
  m.impl("ps_roi_align", &ps_roi_align_forward);
  m.impl("ps_roi_align_backward", &ps_roi_align_backward);
}

}  // namespace cpu
}  // namespace mmdet_psroi
