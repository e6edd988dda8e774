// Autograd of deformable PS RoI pooling: gradients to the map and to the offsets (none to the
// RoIs or the scalars). The map's values are needed only for the offset gradient, so the
// forward keeps the map only when there are offsets that need a gradient (the RoIs, the
// offsets and the map's sizes otherwise). The backward op itself is not differentiable
// (double backward raises).
#include <torch/autograd.h>
#include <torch/library.h>

#include <vector>

#include "deform_ps_roi_pool.h"

namespace mmdet_psroi {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::Variable;
using torch::autograd::variable_list;

// The scalar arguments of both ops.
struct Params {
  double spatial_scale;
  c10::SymInt pooled_h, pooled_w;
  int64_t sample_per_part;
  double trans_std;
  bool original;
};

std::tuple<at::Tensor, at::Tensor> call_backward(const at::Tensor& grad,
                                                 const c10::optional<at::Tensor>& input,
                                                 const at::Tensor& rois, const at::Tensor& offset,
                                                 const Params& p,
                                                 const std::vector<c10::SymInt>& sizes) {
  return deform_ps_roi_pool_backward_symint(grad, input, rois, offset, p.spatial_scale,
                                            p.pooled_h, p.pooled_w, p.sample_per_part,
                                            p.trans_std, sizes[0], sizes[1], sizes[2], sizes[3],
                                            p.original);
}

// The backward op under autograd, so that a double backward says it is not supported.
class BackwardFunction : public torch::autograd::Function<BackwardFunction> {
 public:
  static variable_list forward(AutogradContext*, const Variable& grad,
                               const c10::optional<at::Tensor>& input, const Variable& rois,
                               const Variable& offset, const Params& p,
                               const std::vector<c10::SymInt>& sizes) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto grads = call_backward(grad, input, rois, offset, p, sizes);
    return {std::get<0>(grads), std::get<1>(grads)};
  }

  static variable_list backward(AutogradContext*, const variable_list&) {
    TORCH_CHECK(false, "mmdet_psroi::deform_ps_roi_pool: double backward (a gradient of the "
                       "gradient) is not supported");
    return {};
  }
};

class ForwardFunction : public torch::autograd::Function<ForwardFunction> {
 public:
  static Variable forward(AutogradContext* ctx, const Variable& input, const Variable& rois,
                          const Variable& offset, const Params& p) {
    ctx->saved_data["spatial_scale"] = p.spatial_scale;
    ctx->saved_data["pooled_h"] = p.pooled_h;
    ctx->saved_data["pooled_w"] = p.pooled_w;
    ctx->saved_data["sample_per_part"] = p.sample_per_part;
    ctx->saved_data["trans_std"] = p.trans_std;
    ctx->saved_data["original"] = p.original;
    ctx->saved_data["input_sizes"] = input.sym_sizes();
    const bool offset_grad = offset.requires_grad() && offset.sym_size(1) > 0;
    ctx->save_for_backward({rois, offset, offset_grad ? input : Variable()});
    at::AutoDispatchBelowADInplaceOrView guard;
    return deform_ps_roi_pool_symint(input, rois, offset, p.spatial_scale, p.pooled_h,
                                     p.pooled_w, p.sample_per_part, p.trans_std, p.original);
  }

  static variable_list backward(AutogradContext* ctx, const variable_list& grad_output) {
    const variable_list saved = ctx->get_saved_variables();
    const Params p{ctx->saved_data["spatial_scale"].toDouble(),
                   ctx->saved_data["pooled_h"].toSymInt(),
                   ctx->saved_data["pooled_w"].toSymInt(),
                   ctx->saved_data["sample_per_part"].toInt(),
                   ctx->saved_data["trans_std"].toDouble(),
                   ctx->saved_data["original"].toBool()};
    std::vector<c10::SymInt> sizes;
    for (const auto& size : ctx->saved_data["input_sizes"].toList()) {
      sizes.push_back(size.get().toSymInt());
    }
    c10::optional<at::Tensor> input;
    if (saved[2].defined()) input = saved[2];
    const variable_list grads = BackwardFunction::apply(grad_output[0].contiguous(), input,
                                                        saved[0], saved[1], p, sizes);
    return {grads[0], Variable(), saved[2].defined() ? grads[1] : Variable(), Variable()};
  }
};

at::Tensor deform_ps_roi_pool_autograd(const at::Tensor& input, const at::Tensor& rois,
                                       const at::Tensor& offset, double spatial_scale,
                                       c10::SymInt pooled_height, c10::SymInt pooled_width,
                                       int64_t sample_per_part, double trans_std,
                                       bool original) {
  return ForwardFunction::apply(
      input, rois, offset,
      Params{spatial_scale, std::move(pooled_height), std::move(pooled_width), sample_per_part,
             trans_std, original});
}

std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_autograd(
    const at::Tensor& grad, const c10::optional<at::Tensor>& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, c10::SymInt pooled_height,
    c10::SymInt pooled_width, int64_t sample_per_part, double trans_std, c10::SymInt batch,
    c10::SymInt channels, c10::SymInt height, c10::SymInt width, bool original) {
  const variable_list grads = BackwardFunction::apply(
      grad, input, rois, offset,
      Params{spatial_scale, std::move(pooled_height), std::move(pooled_width), sample_per_part,
             trans_std, original},
      std::vector<c10::SymInt>{std::move(batch), std::move(channels), std::move(height),
                               std::move(width)});
  return {grads[0], grads[1]};
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, Autograd, m) {
  m.impl("deform_ps_roi_pool", TORCH_FN(deform_ps_roi_pool_autograd));
  m.impl("deform_ps_roi_pool_backward", TORCH_FN(deform_ps_roi_pool_backward_autograd));
}

}  // namespace mmdet_psroi
