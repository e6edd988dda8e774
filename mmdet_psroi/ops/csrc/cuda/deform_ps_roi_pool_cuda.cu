// CUDA launchers of deformable PS RoI pooling: device guard, current stream, dtype dispatch
// (float, double, half, bfloat16; RoIs, offsets and gradients accumulate in float for the
// last two), launch checks. No host-device synchronisation.
#include <ATen/Context.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "cuda/atomic.cuh"
#include "cuda/deform_ps_roi_pool_kernels.cuh"
#include "cuda/launch.cuh"
#include "deform_ps_roi_pool.h"

namespace mmdet_psroi {
namespace cuda {
namespace {

// what: the name of `tensor` (input, grad).
void check_devices(const char* what, const at::Tensor& tensor, const at::Tensor& rois,
                   const at::Tensor& offset) {
  TORCH_CHECK(tensor.is_cuda() && rois.device() == tensor.device() &&
                  offset.device() == tensor.device(),
              "deform_ps_roi_pool: ", what, ", rois and offset must be on one CUDA device, got ",
              tensor.device(), ", ", rois.device(), ", ", offset.device());
}

at::Tensor deform_ps_roi_pool_forward(const at::Tensor& input, const at::Tensor& rois,
                                      const at::Tensor& offset, double spatial_scale,
                                      int64_t pooled_h, int64_t pooled_w,
                                      int64_t sample_per_part, double trans_std, bool original) {
  check_devices("input", input, rois, offset);
  check_deform_forward_args(input, rois, offset, pooled_h, pooled_w, sample_per_part);
  const DeformShape s = deform_shape(input.size(0), input.size(1), input.size(2), input.size(3),
                                     offset, pooled_h, pooled_w, sample_per_part);
  const c10::cuda::CUDAGuard guard(input.device());
  at::Tensor output = at::empty({rois.size(0), s.channels_out(), pooled_h, pooled_w},
                                input.options().memory_format(at::MemoryFormat::Contiguous));
  if (output.numel() == 0) return output;
  const auto acc_type = at::toOpMathType(input.scalar_type());
  const at::Tensor input_ = input.contiguous();
  const at::Tensor rois_ = rois.to(acc_type).contiguous();
  const at::Tensor offset_ = offset.to(acc_type).contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(),
                                  "deform_ps_roi_pool_forward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    with_rule(original, [&](auto rule) {
      launch(deform_ps_roi_pool_forward_kernel<decltype(rule)::value, scalar_t, acc_t>,
             output.numel(), input_.const_data_ptr<scalar_t>(), rois_.const_data_ptr<acc_t>(),
             s.groups > 0 ? offset_.const_data_ptr<acc_t>() : nullptr,
             static_cast<acc_t>(spatial_scale), static_cast<acc_t>(trans_std), s,
             output.mutable_data_ptr<scalar_t>());
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
  check_devices("grad", grad, rois, offset);
  check_deform_backward_args(grad, input, rois, offset, pooled_h, pooled_w, sample_per_part,
                             batch, channels, height, width);
  const DeformShape s = deform_shape(batch, channels, height, width, offset, pooled_h, pooled_w,
                                     sample_per_part);
  const bool with_offset_grad = s.groups > 0 && input.has_value() && input->defined();
  const c10::cuda::CUDAGuard guard(grad.device());
  at::globalContext().alertNotDeterministic("deform_ps_roi_pool_backward_cuda");
  const auto acc_type = at::toOpMathType(grad.scalar_type());
  at::Tensor grad_input =
      at::zeros({batch, channels, height, width}, grad.options().dtype(acc_type));
  at::Tensor grad_offset = at::zeros(offset.sizes(), offset.options().dtype(acc_type));
  if (grad.numel() > 0 && grad_input.numel() > 0) {
    const at::Tensor grad_ = grad.contiguous();
    const at::Tensor input_ = with_offset_grad ? input->contiguous() : at::Tensor();
    const at::Tensor rois_ = rois.to(acc_type).contiguous();
    const at::Tensor offset_ = offset.to(acc_type).contiguous();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(),
                                    "deform_ps_roi_pool_backward_cuda", [&] {
      using acc_t = at::opmath_type<scalar_t>;
      with_rule(original, [&](auto rule) {
        launch(deform_ps_roi_pool_backward_kernel<decltype(rule)::value, scalar_t, acc_t>,
               grad.numel(), grad_.const_data_ptr<scalar_t>(),
               with_offset_grad ? input_.const_data_ptr<scalar_t>() : nullptr,
               rois_.const_data_ptr<acc_t>(),
               s.groups > 0 ? offset_.const_data_ptr<acc_t>() : nullptr,
               static_cast<acc_t>(spatial_scale), static_cast<acc_t>(trans_std), s,
               grad_input.mutable_data_ptr<acc_t>(),
               with_offset_grad ? grad_offset.mutable_data_ptr<acc_t>() : nullptr);
      });
    });
  }
  return {grad_input.to(grad.scalar_type()), grad_offset.to(offset.scalar_type())};
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, CUDA, m) {
  m.impl("deform_ps_roi_pool", &deform_ps_roi_pool_forward);
  m.impl("deform_ps_roi_pool_backward", &deform_ps_roi_pool_backward);
}

}  // namespace cuda
}  // namespace mmdet_psroi
