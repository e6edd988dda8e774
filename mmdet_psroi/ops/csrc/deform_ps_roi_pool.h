// Deformable PS RoI pooling: calls through the dispatcher (used by the autograd kernel), the
// argument checks that every backend's kernel runs first (sizes may be symbolic: the meta
// kernels run them too) and the kernels' shape. Schemas: deform_ps_roi_pool.cpp.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/SymInt.h>
#include <c10/util/Optional.h>

#include <tuple>

#include "common/deform_ps_roi_math.h"

namespace mmdet_psroi {

at::Tensor deform_ps_roi_pool_symint(const at::Tensor& input, const at::Tensor& rois,
                                     const at::Tensor& offset, double spatial_scale,
                                     c10::SymInt pooled_height, c10::SymInt pooled_width,
                                     int64_t sample_per_part, double trans_std, bool original);

// input: the map, needed for the offset gradient only (none: that gradient is zeros).
std::tuple<at::Tensor, at::Tensor> deform_ps_roi_pool_backward_symint(
    const at::Tensor& grad, const c10::optional<at::Tensor>& input, const at::Tensor& rois,
    const at::Tensor& offset, double spatial_scale, c10::SymInt pooled_height,
    c10::SymInt pooled_width, int64_t sample_per_part, double trans_std, c10::SymInt batch,
    c10::SymInt channels, c10::SymInt height, c10::SymInt width, bool original);

// The raw ops' errors; the Python wrapper checks first, with friendlier messages.
void check_deform_forward_args(const at::Tensor& input, const at::Tensor& rois,
                               const at::Tensor& offset, const c10::SymInt& pooled_height,
                               const c10::SymInt& pooled_width, int64_t sample_per_part);

void check_deform_backward_args(const at::Tensor& grad, const c10::optional<at::Tensor>& input,
                                const at::Tensor& rois, const at::Tensor& offset,
                                const c10::SymInt& pooled_height,
                                const c10::SymInt& pooled_width, int64_t sample_per_part,
                                const c10::SymInt& batch, const c10::SymInt& channels,
                                const c10::SymInt& height, const c10::SymInt& width);

// The kernels' shape, from checked arguments.
DeformShape deform_shape(int64_t batch, int64_t channels, int64_t height, int64_t width,
                         const at::Tensor& offset, int64_t pooled_height, int64_t pooled_width,
                         int64_t sample_per_part);

}  // namespace mmdet_psroi
