// Argument checks of the raw ops (torch.ops.mmdet_psroi.*), shared by the CPU, CUDA and Meta
// kernels. Sizes are SymInt so that the Meta kernels check symbolic shapes too. The Python
// wrappers (mmdet_psroi/ops/ps_roi.py) check the same before calling, with messages that
// name the Python arguments; these guard direct calls of the ops.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>
#include <c10/core/SymInt.h>
#include <c10/util/Exception.h>

namespace mmdet_psroi {

inline void check_rois(const char* name, const at::Tensor& rois, const at::Tensor& other) {
  TORCH_CHECK(rois.dim() == 2 && rois.sym_size(1) == 5, name,
              ": rois must have shape (K, 5) = (batch_index, x1, y1, x2, y2), got ",
              rois.sym_sizes());
  TORCH_CHECK(c10::isFloatingType(rois.scalar_type()), name,
              ": rois must be a floating point tensor, got ", rois.scalar_type());
  TORCH_CHECK(rois.device() == other.device(), name, ": rois are on ", rois.device(),
              " but the other tensor is on ", other.device());
}

inline void check_pooled_size(const char* name, const c10::SymInt& channels,
                              const c10::SymInt& pooled_h, const c10::SymInt& pooled_w) {
  TORCH_CHECK(pooled_h > 0 && pooled_w > 0, name, ": pooled sizes must be positive, got ",
              pooled_h, " x ", pooled_w);
  TORCH_CHECK(channels % (pooled_h * pooled_w) == 0, name, ": input channels (", channels,
              ") must be divisible by pooled_height * pooled_width (", pooled_h * pooled_w, ")");
}

inline void check_forward_args(const char* name, const at::Tensor& input, const at::Tensor& rois,
                               const c10::SymInt& pooled_h, const c10::SymInt& pooled_w) {
  TORCH_CHECK(input.dim() == 4, name, ": input must be 4-D (N, C, H, W), got shape ",
              input.sym_sizes());
  TORCH_CHECK(c10::isFloatingType(input.scalar_type()), name,
              ": input must be a floating point tensor, got ", input.scalar_type());
  check_rois(name, rois, input);
  check_pooled_size(name, input.sym_size(1), pooled_h, pooled_w);
}

inline void check_backward_args(const char* name, const at::Tensor& grad, const at::Tensor& rois,
                                const c10::SymInt& pooled_h, const c10::SymInt& pooled_w,
                                const c10::SymInt& batch, const c10::SymInt& channels,
                                const c10::SymInt& height, const c10::SymInt& width) {
  TORCH_CHECK(c10::isFloatingType(grad.scalar_type()), name,
              ": grad must be a floating point tensor, got ", grad.scalar_type());
  check_rois(name, rois, grad);
  TORCH_CHECK(batch >= 0 && channels >= 0 && height >= 0 && width >= 0, name,
              ": input sizes must be >= 0, got ", batch, ", ", channels, ", ", height, ", ", width);
  check_pooled_size(name, channels, pooled_h, pooled_w);
  TORCH_CHECK(grad.dim() == 4 && grad.sym_size(0) == rois.sym_size(0) &&
                  grad.sym_size(1) == channels / (pooled_h * pooled_w) &&
                  grad.sym_size(2) == pooled_h && grad.sym_size(3) == pooled_w,
              name, ": grad must have shape (K, C / (kh * kw), kh, kw) = (", rois.sym_size(0),
              ", ", channels / (pooled_h * pooled_w), ", ", pooled_h, ", ", pooled_w, "), got ",
              grad.sym_sizes());
}

}  // namespace mmdet_psroi
