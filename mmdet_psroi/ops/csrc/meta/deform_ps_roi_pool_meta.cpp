// Shapes of deformable PS RoI pooling for tracing (meta and fake tensors: torch.compile,
// torch.export, torch.library.opcheck), after the raw ops' argument checks. Symbolic sizes
// pass through.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <tuple>

#include "deform_ps_roi_pool.h"

namespace mmdet_psroi {
namespace {

at::Tensor deform_ps_roi_pool_meta(const at::Tensor& input, const at::Tensor& rois,
                                   const at::Tensor& offset, double, c10::SymInt pooled_height,
                                   c10::SymInt pooled_width, int64_t sample_per_part, double,
                                   bool) {
  check_deform_forward_args(input, rois, offset, pooled_height, pooled_width, sample_per_part);
  c10::SymInt channels_out = input.sym_size(1) / (pooled_height * pooled_width);
  return at::empty_symint({rois.sym_size(0), channels_out, pooled_height, pooled_width},
                          input.options());
}

std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_meta(
    const at::Tensor& grad, const c10::optional<at::Tensor>& input, const at::Tensor& rois,
    const at::Tensor& offset, double, c10::SymInt pooled_height, c10::SymInt pooled_width,
    int64_t sample_per_part, double, c10::SymInt batch, c10::SymInt channels,
    c10::SymInt height, c10::SymInt width, bool) {
  check_deform_backward_args(grad, input, rois, offset, pooled_height, pooled_width,
                             sample_per_part, batch, channels, height, width);
  return {at::empty_symint({batch, channels, height, width}, grad.options()),
          at::empty_symint(offset.sym_sizes(), offset.options())};
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, Meta, m) {
  m.impl("deform_ps_roi_pool", TORCH_FN(deform_ps_roi_pool_meta));
  m.impl("deform_ps_roi_pool_backward", TORCH_FN(deform_ps_roi_pool_backward_meta));
}

}  // namespace mmdet_psroi
