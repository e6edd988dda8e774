// Runs the CUDA kernels of csrc/cuda/ps_roi_kernels.cuh on CPU tensors (float, double, half,
// bfloat16) through cuda_emulation.h, with the RoIs converted to the accumulation type as
// csrc/cuda/ps_roi_cuda.cu does. Unlike that dispatcher, this harness launches the kernels
// on empty maps too, so that the kernels' own guards are tested. A deliberately small grid
// (3 blocks of 32 threads) makes every grid-stride loop stride.
#include <ATen/OpMathType.h>
#include <torch/extension.h>

#include "cuda_emulation.h"
#include "cuda/ps_roi_kernels.cuh"

namespace {

using mmdet_psroi::cuda::KernelShape;
constexpr unsigned kBlocks = 3, kThreads = 32;

KernelShape shape_of(int64_t batch, int64_t channels, int64_t height, int64_t width,
                     int64_t pooled_h, int64_t pooled_w) {
  return KernelShape{batch, channels, height, width, pooled_h, pooled_w};
}

// sampling_ratio < -1 selects PS RoI Pool (with its quantisation rule `original`), otherwise
// PS RoI Align (original unused).
torch::Tensor forward(torch::Tensor input, torch::Tensor rois, double scale, int64_t pooled_h,
                      int64_t pooled_w, int64_t sampling_ratio, bool original) {
  input = input.contiguous();
  rois = rois.to(at::toOpMathType(input.scalar_type())).contiguous();
  const KernelShape s = shape_of(input.size(0), input.size(1), input.size(2), input.size(3),
                                 pooled_h, pooled_w);
  auto output = torch::zeros({rois.size(0), s.channels / (pooled_h * pooled_w), pooled_h, pooled_w},
                             input.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "emulated_forward", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto* in = input.data_ptr<scalar_t>();
    const auto* r = rois.data_ptr<acc_t>();
    auto* out = output.data_ptr<scalar_t>();
    if (sampling_ratio < -1) {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_pool_forward_kernel<scalar_t, acc_t>,
                     output.numel(), in, r, static_cast<acc_t>(scale), original, s, out);
    } else {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_align_forward_kernel<scalar_t, acc_t>,
                     output.numel(), in, r, static_cast<acc_t>(scale), sampling_ratio, s, out);
    }
  });
  return output;
}

torch::Tensor backward(torch::Tensor grad, torch::Tensor rois, double scale, int64_t pooled_h,
                       int64_t pooled_w, int64_t sampling_ratio, int64_t batch, int64_t channels,
                       int64_t height, int64_t width, bool original) {
  grad = grad.contiguous();
  const auto acc_type = at::toOpMathType(grad.scalar_type());
  rois = rois.to(acc_type).contiguous();
  const KernelShape s = shape_of(batch, channels, height, width, pooled_h, pooled_w);
  auto grad_input = torch::zeros({batch, channels, height, width}, grad.options().dtype(acc_type));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "emulated_backward", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto* g = grad.data_ptr<scalar_t>();
    const auto* r = rois.data_ptr<acc_t>();
    auto* out = grad_input.data_ptr<acc_t>();
    if (sampling_ratio < -1) {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_pool_backward_kernel<scalar_t, acc_t>,
                     grad.numel(), g, r, static_cast<acc_t>(scale), original, s, out);
    } else {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_align_backward_kernel<scalar_t, acc_t>,
                     grad.numel(), g, r, static_cast<acc_t>(scale), sampling_ratio, s, out);
    }
  });
  return grad_input.to(grad.scalar_type());
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "CUDA forward kernels run on the CPU");
  m.def("backward", &backward, "CUDA backward kernels run on the CPU");
}
