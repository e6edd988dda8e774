// The entry points of the four PS RoI ops (schemas: ps_roi.cpp) on one backend, and their
// registration, shared by the CPU (cpu/ps_roi_cpu.cpp) and CUDA (cuda/ps_roi_cuda.cu) kernels.
// The rule argument `original` becomes a template argument here (with_rule). A Backend provides
//   forward(name, input, rois, pooled_h, pooled_w, make) and
//   backward(name, grad, rois, pooled_h, pooled_w, batch, channels, height, width, make),
// where `make` is Backend::MakePool<original>{spatial_scale} or
// Backend::MakeAlign{spatial_scale, sampling_ratio}: what makes the backend's kernel functor.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include "common/ps_roi_math.h"

namespace mmdet_psroi {

template <typename Backend>
struct PsRoiOps {
  static at::Tensor pool(const at::Tensor& input, const at::Tensor& rois, double spatial_scale,
                         int64_t pooled_h, int64_t pooled_w, bool original) {
    return with_rule(original, [&](auto rule) {
      using Make = typename Backend::template MakePool<decltype(rule)::value>;
      return Backend::forward("ps_roi_pool", input, rois, pooled_h, pooled_w,
                              Make{spatial_scale});
    });
  }

  static at::Tensor pool_backward(const at::Tensor& grad, const at::Tensor& rois,
                                  double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                  int64_t batch, int64_t channels, int64_t height,
                                  int64_t width, bool original) {
    return with_rule(original, [&](auto rule) {
      using Make = typename Backend::template MakePool<decltype(rule)::value>;
      return Backend::backward("ps_roi_pool_backward", grad, rois, pooled_h, pooled_w, batch,
                               channels, height, width, Make{spatial_scale});
    });
  }

  static at::Tensor align(const at::Tensor& input, const at::Tensor& rois, double spatial_scale,
                          int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio) {
    return Backend::forward("ps_roi_align", input, rois, pooled_h, pooled_w,
                            typename Backend::MakeAlign{spatial_scale, sampling_ratio});
  }

  static at::Tensor align_backward(const at::Tensor& grad, const at::Tensor& rois,
                                   double spatial_scale, int64_t pooled_h, int64_t pooled_w,
                                   int64_t sampling_ratio, int64_t batch, int64_t channels,
                                   int64_t height, int64_t width) {
    return Backend::backward("ps_roi_align_backward", grad, rois, pooled_h, pooled_w, batch,
                             channels, height, width,
                             typename Backend::MakeAlign{spatial_scale, sampling_ratio});
  }

  // Registers the four ops for the dispatch key of TORCH_LIBRARY_IMPL(mmdet_psroi, KEY, m).
  static void register_kernels(torch::Library& m) {
    m.impl("ps_roi_pool", &pool);
    m.impl("ps_roi_pool_backward", &pool_backward);
    m.impl("ps_roi_align", &align);
    m.impl("ps_roi_align_backward", &align_backward);
  }
};

}  // namespace mmdet_psroi
