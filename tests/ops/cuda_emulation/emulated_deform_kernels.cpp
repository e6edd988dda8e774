// Runs the CUDA kernels of csrc/cuda/deform_ps_roi_pool_kernels.cuh on CPU tensors (float,
// double) through cuda_emulation.h, on a deliberately small grid (3 blocks of 32 threads) so
// that every grid-stride loop strides. offset with 0 channels: no offsets; backward with
// offset_grad false: the kernel gets no map and no offset gradient (zeros come back).
#include <torch/extension.h>

#include "cuda_emulation.h"
#include "cuda/deform_ps_roi_pool_kernels.cuh"

namespace {

using mmdet_psroi::DeformShape;
constexpr unsigned kBlocks = 3, kThreads = 32;

DeformShape shape_of(const torch::Tensor& input, const torch::Tensor& offset, int64_t pooled_h,
                     int64_t pooled_w, int64_t sample_per_part) {
  return DeformShape{input.size(0),  input.size(1),  input.size(2),      input.size(3),
                     pooled_h,       pooled_w,       offset.size(1) / 2, offset.size(2),
                     offset.size(3), sample_per_part};
}

torch::Tensor forward(torch::Tensor input, torch::Tensor rois, torch::Tensor offset,
                      double scale, int64_t pooled_h, int64_t pooled_w, int64_t sample_per_part,
                      double trans_std, bool original) {
  input = input.contiguous();
  rois = rois.to(input.scalar_type()).contiguous();
  offset = offset.to(input.scalar_type()).contiguous();
  const DeformShape s = shape_of(input, offset, pooled_h, pooled_w, sample_per_part);
  auto output = torch::zeros({rois.size(0), s.channels_out(), pooled_h, pooled_w},
                             input.options());
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "emulated_deform_forward", [&] {
    mmdet_psroi::with_rule(original, [&](auto rule) {
      emulate_launch(kBlocks, kThreads,
                     mmdet_psroi::cuda::deform_ps_roi_pool_forward_kernel<decltype(rule)::value,
                                                                          scalar_t, scalar_t>,
                     output.numel(), input.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(),
                     s.groups > 0 ? offset.data_ptr<scalar_t>() : nullptr,
                     static_cast<scalar_t>(scale), static_cast<scalar_t>(trans_std), s,
                     output.data_ptr<scalar_t>());
    });
  });
  return output;
}

std::vector<torch::Tensor> backward(torch::Tensor grad, torch::Tensor input, torch::Tensor rois,
                                    torch::Tensor offset, double scale, int64_t pooled_h,
                                    int64_t pooled_w, int64_t sample_per_part, double trans_std,
                                    bool original, bool offset_grad) {
  grad = grad.contiguous();
  input = input.contiguous();
  rois = rois.to(input.scalar_type()).contiguous();
  offset = offset.to(input.scalar_type()).contiguous();
  const DeformShape s = shape_of(input, offset, pooled_h, pooled_w, sample_per_part);
  auto grad_input = torch::zeros_like(input);
  auto grad_offset = torch::zeros_like(offset);
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "emulated_deform_backward", [&] {
    mmdet_psroi::with_rule(original, [&](auto rule) {
      emulate_launch(kBlocks, kThreads,
                     mmdet_psroi::cuda::deform_ps_roi_pool_backward_kernel<decltype(rule)::value,
                                                                           scalar_t, scalar_t>,
                     grad.numel(), grad.data_ptr<scalar_t>(),
                     offset_grad ? input.data_ptr<scalar_t>() : nullptr,
                     rois.data_ptr<scalar_t>(),
                     s.groups > 0 ? offset.data_ptr<scalar_t>() : nullptr,
                     static_cast<scalar_t>(scale), static_cast<scalar_t>(trans_std), s,
                     grad_input.data_ptr<scalar_t>(),
                     offset_grad ? grad_offset.data_ptr<scalar_t>() : nullptr);
    });
  });
  return {grad_input, grad_offset};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "deformable PS RoI pooling CUDA forward kernel run on the CPU");
  m.def("backward", &backward, "deformable PS RoI pooling CUDA backward kernel run on the CPU");
}
