// CUDA launchers of the mmdet_psroi ops: argument checks, device guard (the input's device),
// current stream, dtype dispatch (float, double, half, bfloat16; accumulation and RoIs in
// float for the last two), launch checks. Nothing here reads device memory back to the host:
// a call never synchronizes (bad RoIs pool 0 in the kernels, see ps_roi_kernels.cuh).
#include <ATen/Context.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <string>

#include "common/ps_roi_checks.h"
#include "common/ps_roi_ops.h"
#include "cuda/atomic.cuh"
#include "cuda/launch.cuh"
#include "cuda/ps_roi_kernels.cuh"

namespace mmdet_psroi {
namespace cuda {
namespace {

// The backend of common/ps_roi_ops.h: the makers of the kernels' geometry and the launchers.
struct Backend {
  template <bool original>
  struct MakePool {
    double spatial_scale;

    template <typename acc_t>
    PoolGeometry<acc_t, original> operator()(acc_t) const {
      return {static_cast<acc_t>(spatial_scale)};
    }
  };

  struct MakeAlign {
    double spatial_scale;
    int64_t sampling_ratio;

    template <typename acc_t>
    AlignGeometry<acc_t> operator()(acc_t) const {
      return {static_cast<acc_t>(spatial_scale), sampling_ratio};
    }
  };

  // make_geometry(acc_t) returns the op's Geometry (ps_roi_kernels.cuh) for that type.
  template <typename MakeGeometry>
  static at::Tensor forward(const char* name, const at::Tensor& input, const at::Tensor& rois,
                            int64_t pooled_h, int64_t pooled_w,
                            const MakeGeometry& make_geometry) {
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
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "ps_roi_forward_cuda", [&] {
      using acc_t = at::opmath_type<scalar_t>;
      const auto geometry = make_geometry(acc_t(0));
      launch(ps_roi_forward_kernel<scalar_t, acc_t, decltype(geometry)>, output.numel(),
             input_.const_data_ptr<scalar_t>(), rois_.const_data_ptr<acc_t>(), geometry, s,
             output.mutable_data_ptr<scalar_t>());
    });
    return output;
  }

  // The gradient is accumulated with atomics, in an order that varies from run to run. The
  // errors and the deterministic-mode alert name the op "<name>_cuda".
  template <typename MakeGeometry>
  static at::Tensor backward(const char* op_name, const at::Tensor& grad, const at::Tensor& rois,
                             int64_t pooled_h, int64_t pooled_w, int64_t batch,
                             int64_t channels, int64_t height, int64_t width,
                             const MakeGeometry& make_geometry) {
    const std::string name = std::string(op_name) + "_cuda";
    check_backward_args(name.c_str(), grad, rois, pooled_h, pooled_w, batch, channels, height,
                        width);
    at::globalContext().alertNotDeterministic(name);
    const c10::cuda::CUDAGuard guard(grad.device());
    const KernelShape s{batch, channels, height, width, pooled_h, pooled_w};
    const auto acc_type = at::toOpMathType(grad.scalar_type());
    at::Tensor grad_input = at::zeros({batch, channels, height, width}, grad.options().dtype(acc_type));
    if (grad.numel() == 0 || grad_input.numel() == 0) return grad_input.to(grad.scalar_type());
    const at::Tensor grad_ = grad.contiguous(), rois_ = rois.to(acc_type).contiguous();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "ps_roi_backward_cuda", [&] {
      using acc_t = at::opmath_type<scalar_t>;
      const auto geometry = make_geometry(acc_t(0));
      launch(ps_roi_backward_kernel<scalar_t, acc_t, decltype(geometry)>, grad.numel(),
             grad_.const_data_ptr<scalar_t>(), rois_.const_data_ptr<acc_t>(), geometry, s,
             grad_input.mutable_data_ptr<acc_t>());
    });
    return grad_input.to(grad.scalar_type());
  }
};

}  // namespace

TORCH_LIBRARY_IMPL(mmdet_psroi, CUDA, m) { PsRoiOps<Backend>::register_kernels(m); }

}  // namespace cuda
}  // namespace mmdet_psroi
