// Schemas of deformable PS RoI pooling (a fragment of the mmdet_psroi library, whose module
// is defined with the other ops) and the dispatcher entry points of deform_ps_roi_pool.h.
// Kernels: cpu/, cuda/; autograd: autograd/; shapes for tracing: meta/.
#include "deform_ps_roi_pool.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

namespace mmdet_psroi {

at::Tensor deform_ps_roi_pool_symint(const at::Tensor& input, const at::Tensor& rois,
                                     const at::Tensor& offset, double spatial_scale,
                                     c10::SymInt pooled_height, c10::SymInt pooled_width,
                                     int64_t sample_per_part, double trans_std) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mmdet_psroi::deform_ps_roi_pool", "")
                       .typed<decltype(deform_ps_roi_pool_symint)>();
  return op.call(input, rois, offset, spatial_scale, std::move(pooled_height),
                 std::move(pooled_width), sample_per_part, trans_std);
}

std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_symint(
    const at::Tensor& grad, const at::Tensor& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, c10::SymInt pooled_height,
    c10::SymInt pooled_width, int64_t sample_per_part, double trans_std) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mmdet_psroi::_deform_ps_roi_pool_backward", "")
                       .typed<decltype(deform_ps_roi_pool_backward_symint)>();
  return op.call(grad, input, rois, offset, spatial_scale, std::move(pooled_height),
                 std::move(pooled_width), sample_per_part, trans_std);
}

DeformShape check_deform_ps_roi_pool(const at::Tensor& input, const at::Tensor& rois,
                                     const at::Tensor& offset, int64_t pooled_height,
                                     int64_t pooled_width, int64_t sample_per_part) {
  TORCH_CHECK(input.dim() == 4, "deform_ps_roi_pool: input must be 4-D (N, C, H, W), got ",
              input.sizes());
  TORCH_CHECK(pooled_height > 0 && pooled_width > 0,
              "deform_ps_roi_pool: output size must be positive, got ", pooled_height, "x",
              pooled_width);
  TORCH_CHECK(input.size(1) % (pooled_height * pooled_width) == 0,
              "deform_ps_roi_pool: input channels (", input.size(1),
              ") must be divisible by kh*kw = ", pooled_height * pooled_width);
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5,
              "deform_ps_roi_pool: rois must have shape (K, 5), got ", rois.sizes());
  TORCH_CHECK(sample_per_part > 0, "deform_ps_roi_pool: sample_per_part must be > 0, got ",
              sample_per_part);
  TORCH_CHECK(offset.dim() == 4 && offset.size(0) == rois.size(0) && offset.size(1) % 2 == 0,
              "deform_ps_roi_pool: offset must have shape (K, 2 * G, parts_h, parts_w) with K = ",
              rois.size(0), " RoIs (G = 0: no offsets), got ", offset.sizes());
  const int64_t groups = offset.size(1) / 2;
  const int64_t c_out = input.size(1) / (pooled_height * pooled_width);
  TORCH_CHECK(groups == 0 || (offset.size(2) > 0 && offset.size(3) > 0 && c_out % groups == 0),
              "deform_ps_roi_pool: offset has ", groups, " groups of ", offset.size(2), "x",
              offset.size(3), " parts; expected parts > 0 and a group count that divides the ",
              c_out, " output channels");
  return DeformShape{input.size(0), input.size(1), input.size(2),  input.size(3),
                     pooled_height, pooled_width,  groups,         offset.size(2),
                     offset.size(3), sample_per_part};
}

}  // namespace mmdet_psroi

TORCH_LIBRARY_FRAGMENT(mmdet_psroi, m) {
  m.def("deform_ps_roi_pool(Tensor input, Tensor rois, Tensor offset, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, int sample_per_part, float trans_std) "
        "-> Tensor");
  m.def("_deform_ps_roi_pool_backward(Tensor grad, Tensor input, Tensor rois, Tensor offset, "
        "float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sample_per_part, "
        "float trans_std) -> (Tensor, Tensor)");
}
