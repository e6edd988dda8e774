// Runs the CUDA kernels of csrc/cuda/ps_roi_kernels.cuh on CPU tensors (float, double)
// through cuda_emulation.h. A deliberately small grid (3 blocks of 32 threads) makes every
// grid-stride loop stride.
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

// sampling_ratio < -1 selects PS RoI Pool, otherwise PS RoI Align.
torch::Tensor forward(torch::Tensor input, torch::Tensor rois, double scale, int64_t pooled_h,
                      int64_t pooled_w, int64_t sampling_ratio) {
  input = input.contiguous();
  rois = rois.contiguous();
  const KernelShape s = shape_of(input.size(0), input.size(1), input.size(2), input.size(3),
                                 pooled_h, pooled_w);
  auto output = torch::zeros({rois.size(0), s.channels / (pooled_h * pooled_w), pooled_h, pooled_w},
                             input.options());
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "emulated_forward", [&] {
    const auto* in = input.data_ptr<scalar_t>();
    const auto* r = rois.data_ptr<scalar_t>();
    auto* out = output.data_ptr<scalar_t>();
    if (sampling_ratio < -1) {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_pool_forward_kernel<scalar_t, scalar_t>,
                     output.numel(), in, r, static_cast<scalar_t>(scale), s, out);
    } else {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_align_forward_kernel<scalar_t, scalar_t>,
                     output.numel(), in, r, static_cast<scalar_t>(scale), sampling_ratio, s, out);
    }
  });
  return output;
}

torch::Tensor backward(torch::Tensor grad, torch::Tensor rois, double scale, int64_t pooled_h,
                       int64_t pooled_w, int64_t sampling_ratio, int64_t batch, int64_t channels,
                       int64_t height, int64_t width) {
  grad = grad.contiguous();
  rois = rois.contiguous();
  const KernelShape s = shape_of(batch, channels, height, width, pooled_h, pooled_w);
  auto grad_input = torch::zeros({batch, channels, height, width}, grad.options());
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "emulated_backward", [&] {
    const auto* g = grad.data_ptr<scalar_t>();
    const auto* r = rois.data_ptr<scalar_t>();
    auto* out = grad_input.data_ptr<scalar_t>();
    if (sampling_ratio < -1) {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_pool_backward_kernel<scalar_t, scalar_t>,
                     grad.numel(), g, r, static_cast<scalar_t>(scale), s, out);
    } else {
      emulate_launch(kBlocks, kThreads, mmdet_psroi::cuda::ps_roi_align_backward_kernel<scalar_t, scalar_t>,
                     grad.numel(), g, r, static_cast<scalar_t>(scale), sampling_ratio, s, out);
    }
  });
  return grad_input;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "CUDA forward kernels run on the CPU");
  m.def("backward", &backward, "CUDA backward kernels run on the CPU");
}
