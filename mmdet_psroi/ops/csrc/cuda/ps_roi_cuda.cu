// CUDA launchers of the mmdet_psroi ops: argument checks, device guard (the input's device),
// current stream, dtype dispatch (float, double, half, bfloat16; accumulation and RoIs in
// float for the last two), launch checks. Nothing here reads device memory back to the host:
// a call never synchronizes (bad RoIs pool 0 in the kernels, see ps_roi_kernels.cuh).
#include <ATen/Context.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <type_traits>

#include "common/ps_roi_checks.h"
#include "cuda/atomic.cuh"
#include "cuda/launch.cuh"
#include "cuda/ps_roi_kernels.cuh"

namespace mmdet_psroi {
namespace cuda {
namespace {

template <typename Launch>
at::Tensor forward(const char* name, const at::Tensor& input, const at::Tensor& rois,
                   int64_t pooled_h, int64_t pooled_w, const Launch& launch) {
  check_forward_args(name, input, rois, pooled_h, pooled_w);
  const c10::cuda::CUDAGuard guard(input.device());
  const KernelShape s{input.size(0), input.size(1), input.size(2),
                      input.size(3), pooled_h,      pooled_w};
  const auto sizes = {rois.size(0), s.channels / (pooled_h * pooled_w), pooled_h, pooled_w};
  if (input.numel() == 0) return at::zeros(sizes, input.options());  // no pixels: pools 0
  at::Tensor output =
      at::empty(sizes, input.options().memory_format(at::MemoryFormat::Contiguous));
  if (output.numel() == 0) return output;
  const at::Tensor input_ = input.contiguous();
  const at::Tensor rois_ = rois.to(at::toOpMathType(input.scalar_type())).contiguous();
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "ps_roi_forward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    launch(output.numel(), input_.const_data_ptr<scalar_t>(), rois_.const_data_ptr<acc_t>(), s,
           output.mutable_data_ptr<scalar_t>(), stream);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return output;
}

// The gradient is accumulated with atomics, in an order that varies from run to run.
template <typename Launch>
at::Tensor backward(const char* name, const at::Tensor& grad, const at::Tensor& rois,
                    int64_t pooled_h, int64_t pooled_w, int64_t batch, int64_t channels,
                    int64_t height, int64_t width, const Launch& launch) {
  check_backward_args(name, grad, rois, pooled_h, pooled_w, batch, channels, height, width);
  at::globalContext().alertNotDeterministic(name);
  const c10::cuda::CUDAGuard guard(grad.device());
  const KernelShape s{batch, channels, height, width, pooled_h, pooled_w};
  const auto acc_type = at::toOpMathType(grad.scalar_type());
  at::Tensor grad_input = at::zeros({batch, channels, height, width}, grad.options().dtype(acc_type));
  if (grad.numel() == 0 || grad_input.numel() == 0) return grad_input.to(grad.scalar_type());
  const at::Tensor grad_ = grad.contiguous(), rois_ = rois.to(acc_type).contiguous();
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "ps_roi_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    launch(grad.numel(), grad_.const_data_ptr<scalar_t>(), rois_.const_data_ptr<acc_t>(), s,
           grad_input.mutable_data_ptr<acc_t>(), stream);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return grad_input.to(grad.scalar_type());
}

at::Tensor ps_roi_pool_forward(const at::Tensor& input, const at::Tensor& rois,
                               double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                               bool original) {
  return forward("ps_roi_pool", input, rois, pooled_h, pooled_w,
                 [&](int64_t total, auto in, auto r, KernelShape s, auto out, cudaStream_t st) {
                   using acc_t = std::remove_const_t<std::remove_pointer_t<decltype(r)>>;
                   ps_roi_pool_forward_kernel<<<blocks_for(total), kThreads, 0, st>>>(
                       total, in, r, static_cast<acc_t>(spatial_scale), original, s, out);
                 });
}

at::Tensor ps_roi_pool_backward(const at::Tensor& grad, const at::Tensor& rois,
                                double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                int64_t batch, int64_t channels, int64_t height, int64_t width,
                                bool original) {
  return backward("ps_roi_pool_backward_cuda", grad, rois, pooled_h, pooled_w, batch,
                  channels, height, width,
                  [&](int64_t total, auto g, auto r, KernelShape s, auto out, cudaStream_t st) {
                    using acc_t = std::remove_const_t<std::remove_pointer_t<decltype(r)>>;
                    ps_roi_pool_backward_kernel<<<blocks_for(total), kThreads, 0, st>>>(
                        total, g, r, static_cast<acc_t>(spatial_scale), original, s, out);
                  });
}

at::Tensor ps_roi_align_forward(const at::Tensor& input, const at::Tensor& rois,
                                double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                int64_t sampling_ratio) {
  return forward("ps_roi_align", input, rois, pooled_h, pooled_w,
                 [&](int64_t total, auto in, auto r, KernelShape s, auto out, cudaStream_t st) {
                   using acc_t = std::remove_const_t<std::remove_pointer_t<decltype(r)>>;
                   ps_roi_align_forward_kernel<<<blocks_for(total), kThreads, 0, st>>>(
                       total, in, r, static_cast<acc_t>(spatial_scale), sampling_ratio, s, out);
                 });
}

at::Tensor ps_roi_align_backward(const at::Tensor& grad, const at::Tensor& rois,
                                 double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                 int64_t sampling_ratio, int64_t batch, int64_t channels,
                                 int64_t height, int64_t width) {
  return backward("ps_roi_align_backward_cuda", grad, rois, pooled_h, pooled_w, batch,
                  channels, height, width,
                  [&](int64_t total, auto g, auto r, KernelShape s, auto out, cudaStream_t st) {
                    using acc_t = std::remove_const_t<std::remove_pointer_t<decltype(r)>>;
                    ps_roi_align_backward_kernel<<<blocks_for(total), kThreads, 0, st>>>(
                        total, g, r, static_cast<acc_t>(spatial_scale), sampling_ratio, s, out);
                  });
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, CUDA, m) {
  m.impl("ps_roi_pool", &ps_roi_pool_forward);
  m.impl("ps_roi_pool_backward", &ps_roi_pool_backward);
  m.impl("ps_roi_align", &ps_roi_align_forward);
  m.impl("ps_roi_align_backward", &ps_roi_align_backward);
}

}  // namespace cuda
}  // namespace mmdet_psroi
