// Autograd of deformable PS RoI pooling: gradients to the map and to the offsets (none to the
// RoIs or the scalars). The backward op itself is not differentiable (double backward raises).
#include <torch/autograd.h>
#include <torch/library.h>

#include "deform_ps_roi_pool.h"

namespace mmdet_psroi {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::Variable;
using torch::autograd::variable_list;

class DeformPSRoIPoolFunction : public torch::autograd::Function<DeformPSRoIPoolFunction> {
 public:
  static Variable forward(AutogradContext* ctx, const Variable& input, const Variable& rois,
                          const Variable& offset, double spatial_scale,
                          c10::SymInt pooled_height, c10::SymInt pooled_width,
                          int64_t sample_per_part, double trans_std) {
    ctx->saved_data["spatial_scale"] = spatial_scale;
    ctx->saved_data["pooled_height"] = pooled_height;
    ctx->saved_data["pooled_width"] = pooled_width;
    ctx->saved_data["sample_per_part"] = sample_per_part;
    ctx->saved_data["trans_std"] = trans_std;
    ctx->save_for_backward({input, rois, offset});
    at::AutoDispatchBelowADInplaceOrView guard;
    return deform_ps_roi_pool_symint(input, rois, offset, spatial_scale, pooled_height,
                                     pooled_width, sample_per_part, trans_std);
  }

  static variable_list backward(AutogradContext* ctx, const variable_list& grad_output) {
    const auto saved = ctx->get_saved_variables();
    auto grads = deform_ps_roi_pool_backward_symint(
        grad_output[0], saved[0], saved[1], saved[2],
        ctx->saved_data["spatial_scale"].toDouble(),
        ctx->saved_data["pooled_height"].toSymInt(), ctx->saved_data["pooled_width"].toSymInt(),
        ctx->saved_data["sample_per_part"].toInt(), ctx->saved_data["trans_std"].toDouble());
    return {std::get<0>(grads), Variable(), std::get<1>(grads), Variable(),
            Variable(),         Variable(), Variable(),         Variable()};
  }
};

class DeformPSRoIPoolBackwardFunction
    : public torch::autograd::Function<DeformPSRoIPoolBackwardFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Variable& grad, const Variable& input,
                               const Variable& rois, const Variable& offset,
                               double spatial_scale, c10::SymInt pooled_height,
                               c10::SymInt pooled_width, int64_t sample_per_part,
                               double trans_std) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto grads = deform_ps_roi_pool_backward_symint(grad, input, rois, offset, spatial_scale,
                                                    pooled_height, pooled_width,
                                                    sample_per_part, trans_std);
    return {std::get<0>(grads), std::get<1>(grads)};
  }

  static variable_list backward(AutogradContext*, const variable_list&) {
    TORCH_CHECK(false, "double backward of deform_ps_roi_pool is not supported");
  }
};

at::Tensor deform_ps_roi_pool_autograd(const at::Tensor& input, const at::Tensor& rois,
                                       const at::Tensor& offset, double spatial_scale,
                                       c10::SymInt pooled_height, c10::SymInt pooled_width,
                                       int64_t sample_per_part, double trans_std) {
  return DeformPSRoIPoolFunction::apply(input, rois, offset, spatial_scale,
                                        std::move(pooled_height), std::move(pooled_width),
                                        sample_per_part, trans_std);
}

std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_autograd(
    const at::Tensor& grad, const at::Tensor& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, c10::SymInt pooled_height,
    c10::SymInt pooled_width, int64_t sample_per_part, double trans_std) {
  auto grads = DeformPSRoIPoolBackwardFunction::apply(
      grad, input, rois, offset, spatial_scale, std::move(pooled_height),
      std::move(pooled_width), sample_per_part, trans_std);
  return {grads[0], grads[1]};
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, Autograd, m) {
  m.impl("deform_ps_roi_pool", TORCH_FN(deform_ps_roi_pool_autograd));
  m.impl("_deform_ps_roi_pool_backward", TORCH_FN(deform_ps_roi_pool_backward_autograd));
}

}  // namespace mmdet_psroi
