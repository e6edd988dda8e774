// Autograd of the mmdet_psroi ops (as torchvision's csrc/ops/autograd/): the gradient flows to
// `input` only (none to the RoIs or the scalars), computed by the *_backward ops; a double
// backward raises. Registered for the Autograd key, so it serves every backend and needs no
// torch.library Python API. Sizes are SymInt so that dynamic shapes trace through it.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <string>

namespace mmdet_psroi {
namespace autograd {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::Variable;
using torch::autograd::variable_list;

// The scalar arguments of both ops; PS RoI Pool has no sampling_ratio (0 here, unused),
// PS RoI Align no original (false here, unused).
struct Params {
  double spatial_scale;
  c10::SymInt pooled_h, pooled_w;
  int64_t sampling_ratio;
  bool original;
};

template <typename Signature>
c10::TypedOperatorHandle<Signature> find_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

// Calls of the forward and backward ops, below the autograd key.
struct Pool {
  static constexpr const char* kName = "ps_roi_pool";

  static at::Tensor forward(const at::Tensor& input, const at::Tensor& rois, const Params& p) {
    static auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                                        c10::SymInt, c10::SymInt, bool)>(
        "mmdet_psroi::ps_roi_pool");
    return op.call(input, rois, p.spatial_scale, p.pooled_h, p.pooled_w, p.original);
  }

  static at::Tensor backward(const at::Tensor& grad, const at::Tensor& rois, const Params& p,
                             c10::SymIntArrayRef sizes) {
    static auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                                        c10::SymInt, c10::SymInt, c10::SymInt, c10::SymInt,
                                        c10::SymInt, c10::SymInt, bool)>(
        "mmdet_psroi::ps_roi_pool_backward");
    return op.call(grad, rois, p.spatial_scale, p.pooled_h, p.pooled_w, sizes[0], sizes[1],
                   sizes[2], sizes[3], p.original);
  }
};

struct Align {
  static constexpr const char* kName = "ps_roi_align";

  static at::Tensor forward(const at::Tensor& input, const at::Tensor& rois, const Params& p) {
    static auto op =
        find_op<at::Tensor(const at::Tensor&, const at::Tensor&, double, c10::SymInt,
                           c10::SymInt, int64_t)>("mmdet_psroi::ps_roi_align");
    return op.call(input, rois, p.spatial_scale, p.pooled_h, p.pooled_w, p.sampling_ratio);
  }

  static at::Tensor backward(const at::Tensor& grad, const at::Tensor& rois, const Params& p,
                             c10::SymIntArrayRef sizes) {
    static auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                                        c10::SymInt, c10::SymInt, int64_t, c10::SymInt,
                                        c10::SymInt, c10::SymInt, c10::SymInt)>(
        "mmdet_psroi::ps_roi_align_backward");
    return op.call(grad, rois, p.spatial_scale, p.pooled_h, p.pooled_w, p.sampling_ratio,
                   sizes[0], sizes[1], sizes[2], sizes[3]);
  }
};

void save_params(AutogradContext* ctx, const Params& p) {
  ctx->saved_data["spatial_scale"] = p.spatial_scale;
  ctx->saved_data["pooled_h"] = p.pooled_h;
  ctx->saved_data["pooled_w"] = p.pooled_w;
  ctx->saved_data["sampling_ratio"] = p.sampling_ratio;
  ctx->saved_data["original"] = p.original;
}

Params saved_params(AutogradContext* ctx) {
  return {ctx->saved_data["spatial_scale"].toDouble(), ctx->saved_data["pooled_h"].toSymInt(),
          ctx->saved_data["pooled_w"].toSymInt(), ctx->saved_data["sampling_ratio"].toInt(),
          ctx->saved_data["original"].toBool()};
}

// forward(input, rois, params...) -> output; backward: grad_input, then no gradient for the
// RoIs and the 5 scalars.
template <typename Op>
class ForwardFunction : public torch::autograd::Function<ForwardFunction<Op>> {
 public:
  static variable_list forward(AutogradContext* ctx, const Variable& input, const Variable& rois,
                               double spatial_scale, c10::SymInt pooled_h, c10::SymInt pooled_w,
                               int64_t sampling_ratio, bool original) {
    const Params p{spatial_scale, std::move(pooled_h), std::move(pooled_w), sampling_ratio,
                   original};
    save_params(ctx, p);
    ctx->saved_data["input_sizes"] = input.sym_sizes();
    ctx->save_for_backward({rois});
    at::AutoDispatchBelowADInplaceOrView guard;
    return {Op::forward(input, rois, p)};
  }

  static variable_list backward(AutogradContext* ctx, const variable_list& grad_output) {
    const Variable rois = ctx->get_saved_variables()[0];
    std::vector<c10::SymInt> sizes;
    for (const auto& size : ctx->saved_data["input_sizes"].toList()) {
      sizes.push_back(size.get().toSymInt());
    }
    const at::Tensor grad_input = BackwardFunction::apply(grad_output[0].contiguous(), rois,
                                                          saved_params(ctx), sizes)[0];
    return {grad_input, Variable(), Variable(), Variable(), Variable(), Variable(), Variable()};
  }

  // The backward op under autograd, so that a double backward says it is not supported.
  class BackwardFunction : public torch::autograd::Function<BackwardFunction> {
   public:
    static variable_list forward(AutogradContext*, const Variable& grad, const Variable& rois,
                                 const Params& p, const std::vector<c10::SymInt>& sizes) {
      at::AutoDispatchBelowADInplaceOrView guard;
      return {Op::backward(grad, rois, p, sizes)};
    }

    static variable_list backward(AutogradContext*, const variable_list&) {
      TORCH_CHECK(false, "mmdet_psroi::", Op::kName,
                  ": double backward (a gradient of the gradient) is not supported");
      return {};
    }
  };
};

at::Tensor ps_roi_pool(const at::Tensor& input, const at::Tensor& rois, double spatial_scale,
                       c10::SymInt pooled_h, c10::SymInt pooled_w, bool original) {
  return ForwardFunction<Pool>::apply(input, rois, spatial_scale, pooled_h, pooled_w, 0,
                                      original)[0];
}

at::Tensor ps_roi_align(const at::Tensor& input, const at::Tensor& rois, double spatial_scale,
                        c10::SymInt pooled_h, c10::SymInt pooled_w, int64_t sampling_ratio) {
  return ForwardFunction<Align>::apply(input, rois, spatial_scale, pooled_h, pooled_w,
                                       sampling_ratio, false)[0];
}

at::Tensor ps_roi_pool_backward(const at::Tensor& grad, const at::Tensor& rois,
                                double spatial_scale, c10::SymInt pooled_h, c10::SymInt pooled_w,
                                c10::SymInt batch, c10::SymInt channels, c10::SymInt height,
                                c10::SymInt width, bool original) {
  return ForwardFunction<Pool>::BackwardFunction::apply(
      grad, rois, Params{spatial_scale, pooled_h, pooled_w, 0, original},
      std::vector<c10::SymInt>{batch, channels, height, width})[0];
}

at::Tensor ps_roi_align_backward(const at::Tensor& grad, const at::Tensor& rois,
                                 double spatial_scale, c10::SymInt pooled_h,
                                 c10::SymInt pooled_w, int64_t sampling_ratio, c10::SymInt batch,
                                 c10::SymInt channels, c10::SymInt height, c10::SymInt width) {
  return ForwardFunction<Align>::BackwardFunction::apply(
      grad, rois, Params{spatial_scale, pooled_h, pooled_w, sampling_ratio, false},
      std::vector<c10::SymInt>{batch, channels, height, width})[0];
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, Autograd, m) {
  m.impl("ps_roi_pool", TORCH_FN(ps_roi_pool));
  m.impl("ps_roi_pool_backward", TORCH_FN(ps_roi_pool_backward));
  m.impl("ps_roi_align", TORCH_FN(ps_roi_align));
  m.impl("ps_roi_align_backward", TORCH_FN(ps_roi_align_backward));
}

}  // namespace autograd
}  // namespace mmdet_psroi
