// Shapes of deformable PS RoI pooling for tracing (meta and fake tensors: torch.compile,
// torch.export). Symbolic sizes pass through.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <tuple>

namespace mmdet_psroi {
namespace {

at::Tensor deform_ps_roi_pool_meta(const at::Tensor& input, const at::Tensor& rois,
                                   const at::Tensor& offset, double spatial_scale,
                                   c10::SymInt pooled_height, c10::SymInt pooled_width,
                                   int64_t sample_per_part, double trans_std) {
  TORCH_CHECK(input.dim() == 4 && rois.dim() == 2 && offset.dim() == 4,
              "deform_ps_roi_pool: expected input (N, C, H, W), rois (K, 5) and offset "
              "(K, 2 * G, parts_h, parts_w)");
  c10::SymInt channels_out = input.sym_size(1) / (pooled_height * pooled_width);
  return at::empty_symint({rois.sym_size(0), channels_out, pooled_height, pooled_width},
                          input.options());
}

std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_meta(
    const at::Tensor& grad, const at::Tensor& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, c10::SymInt pooled_height,
    c10::SymInt pooled_width, int64_t sample_per_part, double trans_std) {
  return {at::empty_symint(input.sym_sizes(), input.options()),
          at::empty_symint(offset.sym_sizes(), offset.options())};
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, Meta, m) {
  m.impl("deform_ps_roi_pool", TORCH_FN(deform_ps_roi_pool_meta));
  m.impl("_deform_ps_roi_pool_backward", TORCH_FN(deform_ps_roi_pool_backward_meta));
}

}  // namespace mmdet_psroi
