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

// Calls run(geometry) with the kernels' geometry that the arguments select: sampling_ratio
// < -1 selects PS RoI Pool (with its quantisation rule `original`), otherwise PS RoI Align
// (original unused).
template <typename acc_t, typename Run>
void with_geometry(double scale, int64_t sampling_ratio, bool original, const Run& run) {
  using namespace mmdet_psroi::cuda;
  if (sampling_ratio >= -1) {
    run(AlignGeometry<acc_t>{static_cast<acc_t>(scale), sampling_ratio});
    return;
  }
  mmdet_psroi::with_rule(original, [&](auto rule) {
    run(PoolGeometry<acc_t, decltype(rule)::value>{static_cast<acc_t>(scale)});
  });
}

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
    with_geometry<acc_t>(scale, sampling_ratio, original, [&](auto geometry) {
      emulate_launch(kBlocks, kThreads,
                     mmdet_psroi::cuda::ps_roi_forward_kernel<scalar_t, acc_t, decltype(geometry)>,
                     output.numel(), input.data_ptr<scalar_t>(), rois.data_ptr<acc_t>(),
                     geometry, s, output.data_ptr<scalar_t>());
    });
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
    with_geometry<acc_t>(scale, sampling_ratio, original, [&](auto geometry) {
      emulate_launch(kBlocks, kThreads,
                     mmdet_psroi::cuda::ps_roi_backward_kernel<scalar_t, acc_t, decltype(geometry)>,
                     grad.numel(), grad.data_ptr<scalar_t>(), rois.data_ptr<acc_t>(), geometry, s,
                     grad_input.data_ptr<acc_t>());
    });
  });
  return grad_input.to(grad.scalar_type());
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "CUDA forward kernels run on the CPU");
  m.def("backward", &backward, "CUDA backward kernels run on the CPU");
}
