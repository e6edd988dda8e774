// Deformable PS RoI pooling: calls through the dispatcher (used by the autograd kernel) and
// the argument checks that every backend's kernel runs first. Schemas: deform_ps_roi_pool.cpp.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/SymInt.h>

#include <tuple>

#include "common/deform_ps_roi_math.h"

namespace mmdet_psroi {

at::Tensor deform_ps_roi_pool_symint(const at::Tensor& input, const at::Tensor& rois,
                                     const at::Tensor& offset, double spatial_scale,
                                     c10::SymInt pooled_height, c10::SymInt pooled_width,
                                     int64_t sample_per_part, double trans_std);

std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_symint(
    const at::Tensor& grad, const at::Tensor& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, c10::SymInt pooled_height,
    c10::SymInt pooled_width, int64_t sample_per_part, double trans_std);

// Checks shapes and arguments (the raw op's errors; the Python wrapper checks first, with
// friendlier messages) and returns the kernels' shape.
DeformShape check_deform_ps_roi_pool(const at::Tensor& input, const at::Tensor& rois,
                                     const at::Tensor& offset, int64_t pooled_height,
                                     int64_t pooled_width, int64_t sample_per_part);

}  // namespace mmdet_psroi
